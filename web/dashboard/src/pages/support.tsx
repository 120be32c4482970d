// Support: buyers' tickets about their purchases (open ones first by default), a ticket's thread, the
// merchant's reply and closing (roles with support:write).
import { useState, type FormEvent } from 'react';
import { get, post, type SupportTicket } from '../api.ts';
import { Badge, dateOf, Link, Loading, messageOf, NoPermission, PagedRows, Status, useAction, useLoad, useNav, usePagedList } from '../ui.tsx';

export function SupportPage() {
  const [status, setStatus] = useState('open');
  const list = usePagedList<SupportTicket>('/v1/support/tickets', { status: status || undefined });
  return (
    <>
      <h1>Support</h1>
      <div className="filters card">
        <div>
          <label htmlFor="ticket-status">Status</label>
          <select id="ticket-status" value={status} onChange={(event) => setStatus(event.target.value)}>
            <option value="open">open (waiting for you)</option>
            <option value="answered">answered</option>
            <option value="closed">closed</option>
            <option value="">any</option>
          </select>
        </div>
      </div>
      <PagedRows list={list} testId="tickets" emptyText="No tickets.">
        {(ticket) => (
          <li key={ticket.id}>
            <Link to={`/dashboard/support/${ticket.id}`} className="rowlink" testId={`ticket-${ticket.id}`}>
              <span className="what">{ticket.subject}</span>
              <Badge status={ticket.status} />
              <span className="muted small">
                {ticket.message_count} message{ticket.message_count === 1 ? '' : 's'}
              </span>
              <span className="muted small">{dateOf(ticket.updated)}</span>
            </Link>
          </li>
        )}
      </PagedRows>
    </>
  );
}

export function TicketPage(props: { id: string }) {
  const { can } = useNav();
  const ticket = useLoad(() => get<SupportTicket>(`/v1/support/tickets/${encodeURIComponent(props.id)}`), [props.id]);
  const [reply, setReply] = useState('');
  const { error, setError, busy, run } = useAction();
  const t = ticket.data;
  const send = async (event: FormEvent) => {
    event.preventDefault();
    if (reply.trim() === '') return setError('Write a reply first.');
    await run(async () => {
      await post(`/v1/support/tickets/${props.id}/messages`, { message: reply.trim() });
      setReply('');
      ticket.reload();
    });
  };
  const close = async () => {
    setError(null);
    try {
      await post(`/v1/support/tickets/${props.id}/close`, {});
      ticket.reload();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <>
      <p>
        <Link to="/dashboard/support">← Support</Link>
      </p>
      <Status error={ticket.error ?? error} />
      {t && (
        <>
          <h1>{t.subject}</h1>
          <p>
            <Badge status={t.status} /> About payment <Link to={`/dashboard/payments/${t.payment}`}>{t.payment}</Link> · opened {dateOf(t.created)}
          </p>
          <ol className="thread" data-testid="thread">
            {t.messages?.map((message) => (
              <li key={message.id} className={`message ${message.author}`}>
                <span className="muted small">
                  {message.author === 'buyer' ? 'Buyer' : 'You'} · {dateOf(message.created)}
                </span>
                <p className="pre">{message.body}</p>
              </li>
            ))}
          </ol>
          <Loading loading={ticket.loading} />
          {t.status !== 'closed' &&
            (can('support:write') ? (
              <form className="card" onSubmit={send} aria-label="Reply" data-testid="reply-form">
                <label htmlFor="reply">Reply to the buyer</label>
                <textarea id="reply" value={reply} maxLength={5000} onChange={(event) => setReply(event.target.value)} />
                <div className="buttons">
                  <button type="submit" disabled={busy} data-testid="reply-send">
                    {busy ? 'Sending…' : 'Send reply'}
                  </button>
                  <button type="button" onClick={close}>
                    Close ticket
                  </button>
                </div>
              </form>
            ) : (
              <NoPermission permission="support:write" />
            ))}
        </>
      )}
    </>
  );
}
