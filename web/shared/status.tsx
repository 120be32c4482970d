// The error and notice lines every app shows above a form or a list (the wallet and the staff apps).
export function Status(props: { error?: string | null; notice?: string | null }) {
  return (
    <>
      {props.error ? (
        <p className="error" role="alert" data-testid="error">
          {props.error}
        </p>
      ) : null}
      {props.notice ? (
        <p className="notice" role="status" data-testid="notice">
          {props.notice}
        </p>
      ) : null}
    </>
  );
}
