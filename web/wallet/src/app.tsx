// The buyer's wallet across every merchant: balances with a spending chart, top-up, history (filters,
// CSV), a purchase with its receipt, refund request, dispute and support ticket, the support tickets
// with their threads, points and badges, and devices and passkeys. Routes are paths under /wallet (the
// server answers index.html for each of them). docs/wallet.md.
import { Fragment, useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { createWalletApi, pageKey, type Buyer, type HistoryEntry, type WalletApi } from './api.ts';
import { Devices } from './pages/devices.tsx';
import { History } from './pages/history.tsx';
import { Overview } from './pages/overview.tsx';
import { Points } from './pages/points.tsx';
import { Purchase } from './pages/purchase.tsx';
import { SignIn } from './pages/sign-in.tsx';
import { Tickets, TicketThread } from './pages/tickets.tsx';
import { TopUpPage } from './pages/top-up.tsx';
import { BASE, Link } from './ui.tsx';

/** The path, a way to go elsewhere, and a count of visits (following a link to the page one is on starts it afresh). */
function usePath(): [string, (to: string) => void, number] {
  const [path, setPath] = useState(() => location.pathname);
  const [visit, setVisit] = useState(0);
  useEffect(() => {
    const onPop = () => {
      setPath(location.pathname);
      setVisit((count) => count + 1);
    };
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((to: string) => {
    history.pushState(null, '', to);
    setPath(to);
    setVisit((count) => count + 1);
    scrollTo(0, 0);
  }, []);
  return [path, navigate, visit];
}

const NAV: Array<{ path: string; label: string; testId: string }> = [
  { path: '/', label: 'Balance', testId: 'nav-overview' },
  { path: '/top-up', label: 'Top up', testId: 'nav-top-up' },
  { path: '/history', label: 'History', testId: 'nav-history' },
  { path: '/tickets', label: 'Support', testId: 'nav-tickets' },
  { path: '/points', label: 'Points', testId: 'nav-points' },
  { path: '/devices', label: 'Devices', testId: 'nav-devices' },
];

export function App() {
  const key = pageKey();
  const api = useRef<WalletApi | null>(key ? createWalletApi(key) : null).current;
  const [path, navigate, visit] = usePath();
  const [buyer, setBuyer] = useState<Buyer | null>(null);
  const [checking, setChecking] = useState(true);
  const [entries, setEntries] = useState<HistoryEntry[]>([]);
  // Signed in by a one-time code: the passkey was lost, so the wallet asks for a new one.
  const [recovered, setRecovered] = useState(false);

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
  const signedIn = async (how: 'passkey' | 'code') => {
    setRecovered(how === 'code');
    await loadBuyer();
  };
  let page: ReactNode;
  if (checking) page = <p aria-busy="true">Loading your wallet…</p>;
  else if (!buyer) page = <SignIn api={api} onSignedIn={signedIn} />;
  else if (section === '/history') page = <History api={api} navigate={navigate} onEntries={setEntries} />;
  else if (section === '/top-up') page = <TopUpPage api={api} navigate={navigate} />;
  else if (section.startsWith('/purchases/')) page = <Purchase key={section} api={api} id={decodeURIComponent(section.slice('/purchases/'.length))} known={entries} navigate={navigate} />;
  else if (section === '/tickets') page = <Tickets api={api} navigate={navigate} />;
  else if (section.startsWith('/tickets/')) page = <TicketThread key={section} api={api} id={decodeURIComponent(section.slice('/tickets/'.length))} navigate={navigate} />;
  else if (section === '/points') page = <Points api={api} />;
  else if (section === '/devices') page = <Devices api={api} onSignedOut={loadBuyer} onPasskeyAdded={() => setRecovered(false)} />;
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
            {NAV.map((item) => (
              <Link key={item.path} to={item.path === '/' ? BASE : `${BASE}${item.path}`} navigate={navigate} current={item.path === '/' ? section === '/' : section.startsWith(item.path) || (item.path === '/history' && section.startsWith('/purchases'))} testId={item.testId}>
                {item.label}
              </Link>
            ))}
          </nav>
        ) : null}
      </header>
      <main className="wallet" id="main" tabIndex={-1}>
        {buyer ? (
          <p className="who" data-testid="buyer">
            Signed in as {buyer.display_name ?? buyer.email ?? buyer.phone}
          </p>
        ) : null}
        {buyer && recovered ? (
          <p className="banner" role="status" data-testid="recovery-banner">
            You signed in with a code.{' '}
            <Link to={`${BASE}/devices`} navigate={navigate} testId="recovery-add-passkey">
              Add a new passkey
            </Link>{' '}
            so that next time a touch is enough.
          </p>
        ) : null}
        <Fragment key={visit}>{page}</Fragment>
      </main>
    </>
  );
}
