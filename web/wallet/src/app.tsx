// The buyer's wallet: balances, history (filters, CSV export), a purchase with its receipt, a refund
// request and a support ticket, and the buyer's devices and passkeys. Routes are paths under /wallet
// (the server answers index.html for each of them).
import { useCallback, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { formatAmount, parseMajorAmount } from '../../checkout/src/frame/format.ts';
import { createWalletApi, pageKey, WalletApiError, type Balance, type Buyer, type Device, type HistoryEntry, type HistoryFilters, type Passkey, type WalletApi } from './api.ts';
import { signInWithPasskey, signUpWithPasskey } from './passkeys.ts';

const BASE = '/wallet';

function usePath(): [string, (to: string) => void] {
  const [path, setPath] = useState(() => location.pathname);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((to: string) => {
    history.pushState(null, '', to);
    setPath(to);
    scrollTo(0, 0);
  }, []);
  return [path, navigate];
}

const messageOf = (error: unknown): string => (error instanceof WalletApiError || error instanceof Error ? error.message : 'Something went wrong.');
const dateOf = (seconds: number): string => new Date(seconds * 1000).toLocaleString();
const TYPE_LABELS: Record<HistoryEntry['type'], string> = { payment: 'Payment', top_up: 'Top-up', refund: 'Refund' };

function Link(props: { to: string; navigate: (to: string) => void; children: ReactNode; current?: boolean; testId?: string }) {
  return (
    <a
      href={props.to}
      aria-current={props.current ? 'page' : undefined}
      data-testid={props.testId}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        props.navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}

function Status(props: { error?: string | null; notice?: string | null }) {
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

export function App() {
  const key = pageKey();
  const api = useRef<WalletApi | null>(key ? createWalletApi(key) : null).current;
  const [path, navigate] = usePath();
  const [buyer, setBuyer] = useState<Buyer | null>(null);
  const [checking, setChecking] = useState(true);
  const [entries, setEntries] = useState<HistoryEntry[]>([]);

  const loadBuyer = useCallback(async () => {
    if (!api || !api.signedIn()) {
      setBuyer(null);
      setChecking(false);
      return;
    }
    try {
      setBuyer(await api.me());
    } catch {
      setBuyer(null);
    } finally {
      setChecking(false);
    }
  }, [api]);
  useEffect(() => {
    void loadBuyer();
  }, [loadBuyer]);

  if (!api) {
    return (
      <main className="wallet" id="main">
        <h1>Micropay wallet</h1>
        <p role="alert">This installation has no wallet key yet. Set WALLET_PUBLISHABLE_KEY to a publishable key and restart Micropay.</p>
      </main>
    );
  }
  const testMode = key.startsWith('pk_test_');
  const section = path.replace(/\/+$/, '').slice(BASE.length) || '/';
  let page: ReactNode;
  if (checking) page = <p aria-busy="true">Loading your wallet…</p>;
  else if (!buyer) page = <SignIn api={api} onSignedIn={loadBuyer} />;
  else if (section === '/history') page = <History api={api} navigate={navigate} onEntries={setEntries} />;
  else if (section.startsWith('/purchases/')) page = <Purchase api={api} id={decodeURIComponent(section.slice('/purchases/'.length))} known={entries} navigate={navigate} />;
  else if (section === '/devices') page = <Devices api={api} onSignedOut={loadBuyer} />;
  else page = <Overview api={api} navigate={navigate} onEntries={setEntries} />;

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="logo">Micropay wallet</span>
        {testMode ? <span className="mode">Test mode</span> : null}
        {buyer ? (
          <nav aria-label="Wallet">
            <Link to={`${BASE}`} navigate={navigate} current={section === '/'} testId="nav-overview">
              Balance
            </Link>
            <Link to={`${BASE}/history`} navigate={navigate} current={section === '/history'} testId="nav-history">
              History
            </Link>
            <Link to={`${BASE}/devices`} navigate={navigate} current={section === '/devices'} testId="nav-devices">
              Devices
            </Link>
          </nav>
        ) : null}
      </header>
      <main className="wallet" id="main" tabIndex={-1}>
        {buyer ? (
          <p className="who" data-testid="buyer">
            Signed in as {buyer.display_name ?? buyer.email ?? buyer.phone}
          </p>
        ) : null}
        {page}
      </main>
    </>
  );
}

function SignIn(props: { api: WalletApi; onSignedIn: () => Promise<void> }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      await props.onSignedIn();
    } catch (caught) {
      setError(caught instanceof DOMException ? 'The passkey was not used. Try again.' : messageOf(caught));
    } finally {
      setBusy(false);
    }
  };
  const signUp = (event: FormEvent) => {
    event.preventDefault();
    void run(() => signUpWithPasskey(props.api, { email, ...(name.trim() ? { display_name: name.trim() } : {}) }));
  };
  return (
    <section aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Your wallet</h1>
      <p>One wallet for every shop that takes Micropay. Sign in with the passkey you made at a checkout.</p>
      <button type="button" className="primary" disabled={busy} onClick={() => void run(() => signInWithPasskey(props.api))} data-testid="sign-in">
        Sign in with passkey
      </button>
      <form onSubmit={signUp} className="card" aria-labelledby="sign-up-title">
        <h2 id="sign-up-title">New here? Create a wallet</h2>
        <label htmlFor="sign-up-email">Email (to recover your wallet)</label>
        <input id="sign-up-email" type="email" required autoComplete="email" value={email} onChange={(event) => setEmail(event.target.value)} />
        <label htmlFor="sign-up-name">Name (optional)</label>
        <input id="sign-up-name" autoComplete="name" value={name} onChange={(event) => setName(event.target.value)} />
        <button type="submit" disabled={busy} data-testid="sign-up">
          Create with a passkey
        </button>
      </form>
      <Status error={error} />
    </section>
  );
}

function Balances(props: { balances: Balance[] }) {
  const shown = props.balances.filter((balance) => balance.posted !== 0 || balance.pending !== 0);
  if (shown.length === 0) return <p data-testid="balance-empty">Your wallet is empty. Top it up at any checkout.</p>;
  return (
    <ul className="balances" data-testid="balances">
      {shown.map((balance) => (
        <li key={balance.currency} className="card" data-testid={`balance-${balance.currency}`}>
          <span className="amount">{formatAmount(balance.available, balance.currency)}</span>
          <span className="label">{balance.currency} available</span>
          {balance.pending ? <span className="label">{formatAmount(balance.pending, balance.currency)} on hold</span> : null}
        </li>
      ))}
    </ul>
  );
}

function Overview(props: { api: WalletApi; navigate: (to: string) => void; onEntries: (entries: HistoryEntry[]) => void }) {
  const [balances, setBalances] = useState<Balance[] | null>(null);
  const [recent, setRecent] = useState<HistoryEntry[]>([]);
  const [error, setError] = useState<string | null>(null);
  const { api, onEntries } = props;
  useEffect(() => {
    Promise.all([api.wallet(), api.history({})])
      .then(([wallet, page]) => {
        setBalances(wallet.balances);
        setRecent(page.data.slice(0, 5));
        onEntries(page.data);
      })
      .catch((caught: unknown) => setError(messageOf(caught)));
  }, [api, onEntries]);
  return (
    <section aria-labelledby="balance-title">
      <h1 id="balance-title">Balance</h1>
      {balances ? <Balances balances={balances} /> : error ? null : <p aria-busy="true">Loading…</p>}
      <h2>Recent activity</h2>
      <Entries entries={recent} navigate={props.navigate} />
      <p>
        <Link to={`${BASE}/history`} navigate={props.navigate}>
          All history
        </Link>
      </p>
      <section className="card" aria-labelledby="points-title">
        <h2 id="points-title">Points and badges</h2>
        <p>Coming soon: the points you earn at shops and your badges will show here.</p>
      </section>
      <Status error={error} />
    </section>
  );
}

function Entries(props: { entries: HistoryEntry[]; navigate: (to: string) => void }) {
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
            <span className="state">{entry.status.replace(/_/g, ' ')}</span>
          </Link>
        </li>
      ))}
    </ul>
  );
}

const STATUSES = ['succeeded', 'processing', 'requires_action', 'requires_capture', 'pending', 'failed', 'canceled'];

function History(props: { api: WalletApi; navigate: (to: string) => void; onEntries: (entries: HistoryEntry[]) => void }) {
  const [filters, setFilters] = useState<HistoryFilters>({});
  const [draft, setDraft] = useState<HistoryFilters>({});
  const [entries, setEntries] = useState<HistoryEntry[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const { api, onEntries } = props;
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
                {status.replace(/_/g, ' ')}
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

function Purchase(props: { api: WalletApi; id: string; known: HistoryEntry[]; navigate: (to: string) => void }) {
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
  const refundable = entry.type === 'payment' && entry.status === 'succeeded' && entry.refunded_amount < entry.amount;
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
        <dd>{entry.status.replace(/_/g, ' ')}</dd>
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
      {entry.type === 'payment' ? <SupportTicket api={api} entry={entry} /> : null}
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
      setNotice(
        refund.status === 'succeeded'
          ? `Refunded ${formatAmount(refund.amount, refund.currency)} to your wallet.`
          : `Refund of ${formatAmount(refund.amount, refund.currency)} requested: the merchant will review it (${refund.status}).`,
      );
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card" onSubmit={(event) => void submit(event)} aria-labelledby="refund-title" data-testid="refund-form">
      <h2 id="refund-title">Ask for a refund</h2>
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

function SupportTicket(props: { api: WalletApi; entry: HistoryEntry }) {
  const [subject, setSubject] = useState('');
  const [message, setMessage] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const ticket = await props.api.openTicket({ payment: props.entry.id, subject: subject.trim(), message: message.trim() });
      setNotice(`Ticket ${ticket.id} sent to ${props.entry.merchant?.name ?? 'the merchant'}. You will be told when they answer.`);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card" onSubmit={(event) => void submit(event)} aria-labelledby="ticket-title" data-testid="ticket-form">
      <h2 id="ticket-title">Contact the merchant</h2>
      <label htmlFor="ticket-subject">Subject</label>
      <input id="ticket-subject" required maxLength={200} value={subject} onChange={(event) => setSubject(event.target.value)} />
      <label htmlFor="ticket-message">Message</label>
      <textarea id="ticket-message" required maxLength={5000} value={message} onChange={(event) => setMessage(event.target.value)} />
      <button type="submit" disabled={busy || notice !== null} data-testid="open-ticket">
        Send
      </button>
      <Status error={error} notice={notice} />
    </form>
  );
}

function Devices(props: { api: WalletApi; onSignedOut: () => Promise<void> }) {
  const { api } = props;
  const [devices, setDevices] = useState<Device[]>([]);
  const [passkeys, setPasskeys] = useState<Passkey[]>([]);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const [deviceList, passkeyList] = await Promise.all([api.devices(), api.passkeys()]);
      setDevices(deviceList.data);
      setPasskeys(passkeyList.data);
    } catch (caught) {
      setError(messageOf(caught));
    }
  }, [api]);
  useEffect(() => {
    void load();
  }, [load]);
  const act = async (action: () => Promise<unknown>, signsOut = false) => {
    setError(null);
    try {
      await action();
      if (signsOut) {
        api.forget();
        await props.onSignedOut();
      } else await load();
    } catch (caught) {
      setError(messageOf(caught));
    }
  };
  return (
    <section aria-labelledby="devices-title">
      <h1 id="devices-title">Devices</h1>
      <ul className="entries" data-testid="devices">
        {devices.map((device) => (
          <li key={device.id} className="entry device" data-testid={`device-${device.id}`}>
            <span className="what">
              {device.name}
              {device.current ? <strong data-testid="current-device"> (this device)</strong> : null}
            </span>
            <span className="merchant">{device.revoked ? 'Signed out' : `Last seen ${dateOf(device.last_seen)}`}</span>
            {device.revoked ? null : (
              <button type="button" className="link" onClick={() => void act(() => api.revokeDevice(device.id), device.current)} aria-label={`Sign out ${device.name}`}>
                Sign out
              </button>
            )}
          </li>
        ))}
      </ul>
      <h2>Passkeys</h2>
      <ul className="entries" data-testid="passkeys">
        {passkeys.map((passkey, index) => (
          <li key={passkey.id} className="entry">
            <span className="what">
              Passkey {index + 1} {passkey.backed_up ? '(synced)' : '(this device only)'}
            </span>
            <span className="merchant">
              Added {dateOf(passkey.created)}
              {passkey.last_used ? ` · last used ${dateOf(passkey.last_used)}` : ''}
            </span>
            <button type="button" className="link" disabled={passkeys.length <= 1} onClick={() => void act(() => api.removePasskey(passkey.id))} aria-label={`Remove passkey ${index + 1}`}>
              Remove
            </button>
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => void act(() => api.signOut(), true)} data-testid="sign-out">
        Sign out
      </button>
      <Status error={error} />
    </section>
  );
}
