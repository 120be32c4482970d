// The history: every payment, top-up and refund at every merchant, with search, filters (merchant,
// category, type, status, dates) and the CSV export of the same filtered list.
import { useEffect, useState } from 'react';
import { formatAmount } from '../../../checkout/src/frame/format.ts';
import type { HistoryEntry, HistoryFilters, WalletApi } from '../api.ts';
import { BASE, dateOf, Link, messageOf, Status, TYPE_LABELS, words, type Navigate } from '../ui.tsx';

const STATUSES = ['succeeded', 'processing', 'requires_action', 'requires_capture', 'pending', 'failed', 'canceled'];
/** The line item categories of the API (LINE_ITEM_CATEGORIES in src/payments/model.ts). */
const CATEGORIES = ['virtual_good', 'article', 'song', 'in_app', 'subscription_addon', 'tip', 'gift_card', 'game_credit', 'other'];

export function Entries(props: { entries: HistoryEntry[]; navigate: Navigate }) {
  if (props.entries.length === 0) return <p data-testid="history-empty">Nothing here yet.</p>;
  return (
    <ul className="entries" data-testid="history">
      {props.entries.map((entry) => (
        <li key={entry.id} className="entry" data-testid={`entry-${entry.id}`}>
          <Link to={`${BASE}/purchases/${encodeURIComponent(entry.id)}`} navigate={props.navigate}>
            <span className="what">{entry.description ?? TYPE_LABELS[entry.type]}</span>
            <span className={`amount ${entry.type === 'payment' ? 'out' : 'in'}`}>
              {entry.type === 'payment' ? '−' : '+'}
              {formatAmount(entry.amount, entry.currency)}
            </span>
            <span className="merchant">
              {TYPE_LABELS[entry.type]} · {entry.merchant?.name ?? 'Micropay'} · {dateOf(entry.created)}
            </span>
            <span className="state">{words(entry.status)}</span>
          </Link>
        </li>
      ))}
    </ul>
  );
}

export function History(props: { api: WalletApi; navigate: Navigate; onEntries: (entries: HistoryEntry[]) => void }) {
  const [filters, setFilters] = useState<HistoryFilters>({});
  const [draft, setDraft] = useState<HistoryFilters>({});
  const [entries, setEntries] = useState<HistoryEntry[]>([]);
  const [merchants, setMerchants] = useState<Array<{ id: string; name: string }>>([]);
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const { api, onEntries } = props;
  useEffect(() => {
    api
      .merchantPoints()
      .then((list) => setMerchants(list.data.map((one) => one.merchant)))
      .catch(() => setMerchants([]));
  }, [api]);
  useEffect(() => {
    setError(null);
    api
      .history(filters)
      .then((page) => {
        setEntries(page.data);
        setHasMore(page.has_more);
        onEntries(page.data);
      })
      .catch((caught: unknown) => setError(messageOf(caught)));
  }, [api, filters, onEntries]);
  const more = async () => {
    try {
      const page = await api.history(filters, entries.at(-1)?.id);
      const all = [...entries, ...page.data];
      setEntries(all);
      setHasMore(page.has_more);
      onEntries(all);
    } catch (caught) {
      setError(messageOf(caught));
    }
  };
  // The export needs the key and session headers, so it is fetched and handed to the browser as a file.
  const exportCsv = async () => {
    setExporting(true);
    try {
      const url = URL.createObjectURL(await api.historyCsv(filters));
      const anchor = document.createElement('a');
      anchor.href = url;
      anchor.download = 'micropay-history.csv';
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setExporting(false);
    }
  };
  const field = (name: keyof HistoryFilters) => ({ value: draft[name] ?? '', onChange: (event: { target: { value: string } }) => setDraft({ ...draft, [name]: event.target.value }) });
  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">History</h1>
      <form
        className="filters card"
        aria-label="Filter the history"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters({ ...draft });
        }}
      >
        <div>
          <label htmlFor="filter-q">Search</label>
          <input id="filter-q" type="search" maxLength={100} {...field('q')} />
        </div>
        <div>
          <label htmlFor="filter-merchant">Merchant</label>
          <select id="filter-merchant" {...field('merchant')}>
            <option value="">All</option>
            {merchants.map((merchant) => (
              <option key={merchant.id} value={merchant.id}>
                {merchant.name}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="filter-category">Category</label>
          <select id="filter-category" {...field('category')}>
            <option value="">All</option>
            {CATEGORIES.map((category) => (
              <option key={category} value={category}>
                {words(category)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="filter-type">Type</label>
          <select id="filter-type" {...field('type')}>
            <option value="">All</option>
            <option value="payment">Payments</option>
            <option value="top_up">Top-ups</option>
            <option value="refund">Refunds</option>
          </select>
        </div>
        <div>
          <label htmlFor="filter-status">Status</label>
          <select id="filter-status" {...field('status')}>
            <option value="">All</option>
            {STATUSES.map((status) => (
              <option key={status} value={status}>
                {words(status)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="filter-from">From</label>
          <input id="filter-from" type="date" {...field('from')} />
        </div>
        <div>
          <label htmlFor="filter-to">To</label>
          <input id="filter-to" type="date" {...field('to')} />
        </div>
        <div className="actions">
          <button type="submit" data-testid="apply-filters">
            Apply
          </button>
          <button type="button" onClick={() => void exportCsv()} disabled={exporting} data-testid="export-csv">
            Export CSV
          </button>
        </div>
      </form>
      <Entries entries={entries} navigate={props.navigate} />
      {hasMore ? (
        <button type="button" onClick={() => void more()}>
          Show more
        </button>
      ) : null}
      <Status error={error} />
    </section>
  );
}
