// Support tickets at every merchant: the list with each one's status, and a ticket's thread with a reply.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { Ticket, WalletApi } from '../api.ts';
import { BASE, dateOf, Link, messageOf, Status, type Navigate } from '../ui.tsx';

const STATUS_LABELS: Record<Ticket['status'], string> = { open: 'Waiting for the merchant', answered: 'Answered', closed: 'Closed' };

/** The names of the buyer's merchants by id (tickets name their merchant by id). */
function useMerchantNames(api: WalletApi): Map<string, string> {
  const [names, setNames] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    api
      .merchantPoints()
      .then((list) => setNames(new Map(list.data.map((one) => [one.merchant.id, one.merchant.name]))))
      .catch(() => setNames(new Map()));
  }, [api]);
  return names;
}

export function Tickets(props: { api: WalletApi; navigate: Navigate }) {
  const [tickets, setTickets] = useState<Ticket[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { api } = props;
  const names = useMerchantNames(api);
  useEffect(() => {
    api
      .tickets()
      .then((list) => setTickets(list.data))
      .catch((caught: unknown) => setError(messageOf(caught)));
  }, [api]);
  return (
    <section aria-labelledby="tickets-title">
      <h1 id="tickets-title">Support</h1>
      <p>Questions you asked merchants about your purchases. To ask a new one, open the purchase in your history.</p>
      {tickets === null ? (
        error ? null : (
          <p aria-busy="true">Loading…</p>
        )
      ) : tickets.length === 0 ? (
        <p data-testid="tickets-empty">No support tickets yet.</p>
      ) : (
        <ul className="entries" data-testid="tickets">
          {tickets.map((ticket) => (
            <li key={ticket.id} className="entry" data-testid={`ticket-${ticket.id}`}>
              <Link to={`${BASE}/tickets/${encodeURIComponent(ticket.id)}`} navigate={props.navigate}>
                <span className="what">{ticket.subject}</span>
                <span className={`state ticket-${ticket.status}`}>{STATUS_LABELS[ticket.status]}</span>
                <span className="merchant">
                  {names.get(ticket.merchant) ?? 'Merchant'} · {ticket.message_count} {ticket.message_count === 1 ? 'message' : 'messages'} · updated {dateOf(ticket.updated)}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
      <Status error={error} />
    </section>
  );
}

export function TicketThread(props: { api: WalletApi; id: string; navigate: Navigate }) {
  const { api, id } = props;
  const [ticket, setTicket] = useState<Ticket | null>(null);
  const [reply, setReply] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const names = useMerchantNames(api);
  const load = useCallback(async () => {
    try {
      setTicket(await api.ticket(id));
    } catch (caught) {
      setError(messageOf(caught));
    }
  }, [api, id]);
  useEffect(() => {
    void load();
  }, [load]);
  const send = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setTicket(await api.replyToTicket(id, reply.trim()));
      setReply('');
      setNotice('Reply sent.');
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  };
  if (!ticket) return error ? <Status error={error} /> : <p aria-busy="true">Loading…</p>;
  return (
    <section aria-labelledby="thread-title">
      <p>
        <Link to={`${BASE}/tickets`} navigate={props.navigate}>
          All tickets
        </Link>
      </p>
      <h1 id="thread-title">{ticket.subject}</h1>
      <p>
        To <span data-testid="ticket-merchant">{names.get(ticket.merchant) ?? 'the merchant'}</span> · status: <strong data-testid="ticket-status">{STATUS_LABELS[ticket.status]}</strong> · about{' '}
        <Link to={`${BASE}/purchases/${encodeURIComponent(ticket.payment)}`} navigate={props.navigate}>
          the purchase
        </Link>
      </p>
      <ol className="thread" data-testid="thread" aria-label="Messages">
        {(ticket.messages ?? []).map((message) => (
          <li key={message.id} className={`message ${message.author}`} data-testid={`message-${message.author}`}>
            <span className="label">
              {message.author === 'buyer' ? 'You' : names.get(ticket.merchant) ?? 'Merchant'} · {dateOf(message.created)}
            </span>
            <p>{message.body}</p>
          </li>
        ))}
      </ol>
      <button type="button" className="link" onClick={() => void load()} data-testid="refresh-thread">
        Check for answers
      </button>
      {ticket.status === 'closed' ? (
        <p>The merchant closed this ticket. Open a new one from the purchase if you need more help.</p>
      ) : (
        <form className="card" onSubmit={(event) => void send(event)} aria-label="Reply">
          <label htmlFor="reply-message">Your reply</label>
          <textarea id="reply-message" required maxLength={5000} value={reply} onChange={(event) => setReply(event.target.value)} />
          <button type="submit" disabled={busy} data-testid="send-reply">
            Send reply
          </button>
        </form>
      )}
      <Status error={error} notice={notice} />
    </section>
  );
}
