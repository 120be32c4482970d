// One entry of the history: its details and receipt; for a succeeded payment a refund request (the
// automatic policy's decision shown at once), a dispute, and a support ticket to the merchant.
import { useEffect, useState, type FormEvent } from 'react';
import { formatAmount, parseMajorAmount } from '../../../checkout/src/frame/format.ts';
import type { HistoryEntry, Refund, WalletApi } from '../api.ts';
import { BASE, dateOf, messageOf, Status, TYPE_LABELS, words, type Navigate } from '../ui.tsx';

const PENDING_REASONS: Record<string, string> = {
  over_automatic_limit: 'it is more than refunds decided automatically',
  outside_automatic_window: 'the purchase is older than refunds decided automatically',
  buyer_standing: 'you had several refunds or a dispute recently',
  risk_review: 'it needs a review',
  merchant_balance_insufficient: "the merchant's balance cannot pay it now",
};

const DISPUTE_REASONS: Array<[string, string]> = [
  ['product_not_received', 'I did not receive it'],
  ['product_unacceptable', 'It was not as described'],
  ['duplicate', 'I was charged twice'],
  ['credit_not_processed', 'A promised refund never came'],
  ['subscription_canceled', 'I had cancelled'],
  ['unrecognized', 'I do not recognise this payment'],
  ['fraudulent', 'I did not make this payment'],
  ['general', 'Something else'],
];

/** What the buyer reads about a refund the automatic policy decided (or handed to the merchant). */
export function refundDecision(refund: Refund): string {
  const amount = formatAmount(refund.amount, refund.currency);
  if (refund.status === 'succeeded') return `Approved at once: ${amount} is back in your wallet.`;
  if (refund.status === 'failed' || refund.status === 'canceled') return `The refund of ${amount} could not be made (${words(refund.status)}).`;
  const why = refund.pending_reason ? PENDING_REASONS[refund.pending_reason] ?? words(refund.pending_reason) : null;
  return `Refund of ${amount} requested: the merchant decides${why ? ` because ${why}` : ''}.`;
}

export function Purchase(props: { api: WalletApi; id: string; known: HistoryEntry[]; navigate: Navigate }) {
  const { api, id } = props;
  const [entry, setEntry] = useState<HistoryEntry | null>(() => props.known.find((known) => known.id === id) ?? null);
  const [receiptUrl, setReceiptUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (entry) return;
    // Opened directly: look for it in the first pages of the history.
    (async () => {
      let after: string | undefined;
      for (let page = 0; page < 5; page += 1) {
        const found = await api.history({}, after);
        const match = found.data.find((candidate) => candidate.id === id);
        if (match) return setEntry(match);
        if (!found.has_more) break;
        after = found.data.at(-1)?.id;
      }
      setError('This purchase is not in your history.');
    })().catch((caught: unknown) => setError(messageOf(caught)));
  }, [api, id, entry]);
  useEffect(() => {
    if (entry?.status !== 'succeeded') return;
    api
      .receipt(entry.id)
      .then((links) => setReceiptUrl(links.url))
      .catch(() => setReceiptUrl(null));
  }, [api, entry]);
  if (!entry) return error ? <Status error={error} /> : <p aria-busy="true">Loading…</p>;
  const isPayment = entry.type === 'payment' && entry.status === 'succeeded';
  const refundable = isPayment && entry.refunded_amount < entry.amount;
  return (
    <section aria-labelledby="purchase-title">
      <h1 id="purchase-title">{entry.description ?? TYPE_LABELS[entry.type]}</h1>
      <dl className="card details" data-testid="purchase">
        <dt>Merchant</dt>
        <dd>{entry.merchant?.name ?? 'Micropay'}</dd>
        <dt>Amount</dt>
        <dd data-testid="purchase-amount">{formatAmount(entry.amount, entry.currency)}</dd>
        {entry.refunded_amount ? (
          <>
            <dt>Refunded</dt>
            <dd>{formatAmount(entry.refunded_amount, entry.currency)}</dd>
          </>
        ) : null}
        <dt>Status</dt>
        <dd>{words(entry.status)}</dd>
        <dt>Date</dt>
        <dd>{dateOf(entry.created)}</dd>
        <dt>Reference</dt>
        <dd className="mono">{entry.id}</dd>
      </dl>
      {receiptUrl ? (
        <p>
          <a href={receiptUrl} target="_blank" rel="noopener noreferrer" data-testid="receipt-link">
            View receipt (opens in a new tab)
          </a>
        </p>
      ) : null}
      {refundable ? <RefundRequest api={api} entry={entry} /> : null}
      {entry.type === 'payment' ? <SupportTicket api={api} entry={entry} navigate={props.navigate} /> : null}
      {isPayment ? <DisputeForm api={api} entry={entry} /> : null}
      <Status error={error} />
    </section>
  );
}

function RefundRequest(props: { api: WalletApi; entry: HistoryEntry }) {
  const { entry } = props;
  const [amount, setAmount] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const minor = amount.trim() ? parseMajorAmount(amount, entry.currency) : null;
    if (amount.trim() && minor === null) return setError('Enter an amount such as 1.50, or leave it empty for the full amount.');
    setBusy(true);
    try {
      const refund = await props.api.requestRefund(entry.id, { ...(minor !== null ? { amount: Number(minor) } : {}), ...(description.trim() ? { description: description.trim() } : {}) });
      setNotice(refundDecision(refund));
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card" onSubmit={(event) => void submit(event)} aria-labelledby="refund-title" data-testid="refund-form">
      <h2 id="refund-title">Ask for a refund</h2>
      <p className="hint">Small refunds of recent purchases are approved at once; others go to the merchant.</p>
      <label htmlFor="refund-amount">Amount in {entry.currency} (empty: all that remains)</label>
      <input id="refund-amount" inputMode="decimal" value={amount} onChange={(event) => setAmount(event.target.value)} />
      <label htmlFor="refund-description">Why? (optional)</label>
      <textarea id="refund-description" maxLength={500} value={description} onChange={(event) => setDescription(event.target.value)} />
      <button type="submit" disabled={busy || notice !== null} data-testid="request-refund">
        Request refund
      </button>
      <Status error={error} notice={notice} />
    </form>
  );
}

function DisputeForm(props: { api: WalletApi; entry: HistoryEntry }) {
  const [reason, setReason] = useState('product_not_received');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const dispute = await props.api.openDispute(props.entry.id, { reason, ...(description.trim() ? { description: description.trim() } : {}) });
      setNotice(`Dispute ${dispute.id} opened for ${formatAmount(dispute.amount, dispute.currency)} (${words(dispute.status)}). Micropay decides after hearing the merchant.`);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <details className="card">
      <summary>Dispute this payment</summary>
      <form onSubmit={(event) => void submit(event)} aria-label="Dispute this payment" data-testid="dispute-form">
        <p className="hint">Try asking the merchant or for a refund first. A dispute holds the amount from the merchant until Micropay decides.</p>
        <label htmlFor="dispute-reason">Reason</label>
        <select id="dispute-reason" value={reason} onChange={(event) => setReason(event.target.value)}>
          {DISPUTE_REASONS.map(([code, label]) => (
            <option key={code} value={code}>
              {label}
            </option>
          ))}
        </select>
        <label htmlFor="dispute-description">What happened? (optional)</label>
        <textarea id="dispute-description" maxLength={2000} value={description} onChange={(event) => setDescription(event.target.value)} />
        <button type="submit" disabled={busy || notice !== null} data-testid="open-dispute">
          Open dispute
        </button>
        <Status error={error} notice={notice} />
      </form>
    </details>
  );
}

function SupportTicket(props: { api: WalletApi; entry: HistoryEntry; navigate: Navigate }) {
  const [subject, setSubject] = useState('');
  const [message, setMessage] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const ticket = await props.api.openTicket({ payment: props.entry.id, subject: subject.trim(), message: message.trim() });
      props.navigate(`${BASE}/tickets/${encodeURIComponent(ticket.id)}`);
    } catch (caught) {
      setError(messageOf(caught));
      setBusy(false);
    }
  };
  return (
    <form className="card" onSubmit={(event) => void submit(event)} aria-labelledby="ticket-title" data-testid="ticket-form">
      <h2 id="ticket-title">Contact {props.entry.merchant?.name ?? 'the merchant'}</h2>
      <label htmlFor="ticket-subject">Subject</label>
      <input id="ticket-subject" required maxLength={200} value={subject} onChange={(event) => setSubject(event.target.value)} />
      <label htmlFor="ticket-message">Message</label>
      <textarea id="ticket-message" required maxLength={5000} value={message} onChange={(event) => setMessage(event.target.value)} />
      <button type="submit" disabled={busy} data-testid="open-ticket">
        Send
      </button>
      <Status error={error} />
    </form>
  );
}
