// Disputes: the list, and a dispute's detail where the merchant attaches files (PNG, JPEG, PDF up to
// 2 MiB) and submits its evidence once (roles with disputes:write).
import { useRef, useState, type FormEvent } from 'react';
import { downloadFile, fileToBase64, get, newIdempotencyKey, post, type Dispute, type EvidenceFile, type List } from '../api.ts';
import { AmountAndStatus, Badge, dateOf, DetailHeader, Link, Loading, messageOf, Money, NoPermission, PagedRows, Status, StatusFilter, useAction, useLoad, useNav, usePagedList } from '../ui.tsx';

const FILE_BYTES_MAX = 2 * 1024 * 1024;
const FILE_TYPES = ['image/png', 'image/jpeg', 'application/pdf'];

export function DisputesPage() {
  const [status, setStatus] = useState('');
  const list = usePagedList<Dispute>('/v1/disputes', { status: status || undefined });
  return (
    <>
      <h1>Disputes</h1>
      <StatusFilter id="dispute-status" value={status} onChange={setStatus} statuses={['needs_response', 'under_review', 'won', 'lost']} />
      <PagedRows list={list} testId="disputes" emptyText="No disputes.">
        {(dispute) => (
          <li key={dispute.id}>
            <Link to={`/dashboard/disputes/${dispute.id}`} className="rowlink" testId={`dispute-${dispute.id}`}>
              <span className="what">{dispute.reason.replaceAll('_', ' ')}</span>
              <span className="amount">
                <Money amount={dispute.amount} currency={dispute.currency} />
              </span>
              <span className="muted small mono">{dispute.payment}</span>
              <Badge status={dispute.status} />
              <span className="muted small">{dateOf(dispute.created)}</span>
            </Link>
          </li>
        )}
      </PagedRows>
    </>
  );
}

export function DisputeDetailPage(props: { id: string }) {
  const { can } = useNav();
  const dispute = useLoad(() => get<Dispute>(`/v1/disputes/${encodeURIComponent(props.id)}`), [props.id]);
  const files = useLoad(() => get<List<EvidenceFile>>(`/v1/disputes/${encodeURIComponent(props.id)}/evidence_files`), [props.id]);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const d = dispute.data;
  const answering = d?.status === 'needs_response';
  return (
    <>
      <DetailHeader back="/dashboard/disputes" backLabel="Disputes" title="Dispute" error={dispute.error} />
      {d && (
        <>
          <section className="card">
            <dl className="details" data-testid="dispute-details">
              <AmountAndStatus amount={d.amount} currency={d.currency} status={d.status} statusTestId="dispute-status" />
              <dt>Reason</dt>
              <dd>{d.reason.replaceAll('_', ' ')}</dd>
              <dt>Buyer says</dt>
              <dd>{d.description ?? '—'}</dd>
              <dt>Payment</dt>
              <dd>
                <Link to={`/dashboard/payments/${d.payment}`}>{d.payment}</Link>
              </dd>
              <dt>Held</dt>
              <dd>
                <Money amount={d.amount_held} currency={d.currency} />
              </dd>
              <dt>Opened</dt>
              <dd>{dateOf(d.created)}</dd>
              <dt>Evidence sent</dt>
              <dd>{dateOf(d.evidence_submitted_at)}</dd>
            </dl>
            {d.evidence && (
              <>
                <h2>Your evidence</h2>
                <p className="pre" data-testid="evidence-text">
                  {d.evidence.text}
                </p>
                <ul className="plain">
                  {d.evidence.uris.map((uri) => (
                    <li key={uri} className="mono">
                      {uri}
                    </li>
                  ))}
                </ul>
              </>
            )}
          </section>
          <section className="card" aria-labelledby="files-heading">
            <h2 id="files-heading">Files</h2>
            <Status error={files.error ?? downloadError} />
            <Loading loading={files.loading} empty={files.data?.data.length === 0} emptyText="No files attached." />
            <ul className="plain" data-testid="evidence-files">
              {files.data?.data.map((file) => (
                <li key={file.id}>
                  <button
                    type="button"
                    className="link"
                    onClick={() => void downloadFile(`/v1/disputes/${encodeURIComponent(d.id)}/evidence_files/${encodeURIComponent(file.id)}/content`, file.filename).catch((failure: unknown) => setDownloadError(messageOf(failure)))}
                  >
                    {file.filename}
                  </button>{' '}
                  <span className="muted small">
                    {file.content_type} · {(file.size / 1024).toFixed(1)} KiB
                  </span>
                </li>
              ))}
            </ul>
            {answering && (can('disputes:write') ? <FileUpload disputeId={d.id} onDone={files.reload} /> : <NoPermission permission="disputes:write" />)}
          </section>
          {answering && can('disputes:write') && <EvidenceForm disputeId={d.id} onDone={dispute.reload} />}
        </>
      )}
    </>
  );
}

function FileUpload(props: { disputeId: string; onDone: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const { error, setError, notice, setNotice, busy, run } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const file = input.current?.files?.[0];
    setError(null);
    setNotice(null);
    if (!file) return setError('Choose a file first.');
    if (!FILE_TYPES.includes(file.type)) return setError('Only PNG, JPEG and PDF files are accepted.');
    if (file.size > FILE_BYTES_MAX) return setError('The file is larger than 2 MiB.');
    await run(async () => {
      const data = await fileToBase64(file);
      const stored = await post<EvidenceFile>(`/v1/disputes/${props.disputeId}/evidence_files`, { filename: file.name, content_type: file.type, data }, newIdempotencyKey());
      setNotice(`Attached ${stored.filename}.`);
      if (input.current) input.current.value = '';
      props.onDone();
    });
  };
  return (
    <form onSubmit={submit} aria-label="Attach a file" data-testid="evidence-upload">
      <label htmlFor="evidence-file">File (PNG, JPEG or PDF, up to 2 MiB)</label>
      <input id="evidence-file" ref={input} type="file" accept="image/png,image/jpeg,application/pdf" />
      <Status error={error} notice={notice} />
      <button type="submit" disabled={busy} data-testid="evidence-upload-submit">
        {busy ? 'Uploading…' : 'Attach file'}
      </button>
    </form>
  );
}

function EvidenceForm(props: { disputeId: string; onDone: () => void }) {
  const [text, setText] = useState('');
  const [links, setLinks] = useState('');
  const { error, setError, busy, run } = useAction();
  const [key] = useState(newIdempotencyKey);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const uris = links
      .split(/\s+/)
      .map((uri) => uri.trim())
      .filter(Boolean);
    if (text.trim().length === 0) return setError('Describe what happened.');
    if (uris.some((uri) => !uri.startsWith('https://'))) return setError('Links must start with https://.');
    await run(async () => {
      await post(`/v1/disputes/${props.disputeId}/evidence`, { text, uris }, key);
      props.onDone();
    });
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Submit evidence" data-testid="evidence-form">
      <h2>Submit evidence</h2>
      <p className="muted small">Attach your files first: the evidence is sent once, and the dispute then goes to review.</p>
      <label htmlFor="evidence-text">Your account of the purchase</label>
      <textarea id="evidence-text" value={text} maxLength={20000} onChange={(event) => setText(event.target.value)} />
      <label htmlFor="evidence-links">Links (https://, one per line, optional)</label>
      <textarea id="evidence-links" value={links} onChange={(event) => setLinks(event.target.value)} />
      <Status error={error} />
      <button type="submit" disabled={busy} data-testid="evidence-submit">
        {busy ? 'Sending…' : 'Submit evidence'}
      </button>
    </form>
  );
}
