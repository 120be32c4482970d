// @simplewebauthn/server, loaded by the first passkey ceremony of a process rather than when it starts: it
// is the heaviest module the server imports (about half a second), and most processes (the `micropay`
// commands, most test files) never meet a passkey.
let loading: Promise<typeof import('@simplewebauthn/server')> | null = null;

export function webauthnLibrary(): Promise<typeof import('@simplewebauthn/server')> {
  loading ??= import('@simplewebauthn/server');
  return loading;
}
