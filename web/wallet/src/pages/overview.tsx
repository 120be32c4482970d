// The balance page: the balance in each currency, spending over the last 30 days as a chart (per
// currency), and the latest entries.
import { useEffect, useMemo, useState } from 'react';
import { formatAmount } from '../../../checkout/src/frame/format.ts';
import { TimeSeriesChart, type Point } from '../../../staff/charts.tsx';
import type { Balance, HistoryEntry, SpendingDay, WalletApi } from '../api.ts';
import { BASE, Link, messageOf, Status, type Navigate } from '../ui.tsx';
import { Entries } from './history.tsx';

/** Days the chart covers, today included. */
const CHART_DAYS = 30;

export function Balances(props: { balances: Balance[]; navigate: Navigate }) {
  const shown = props.balances.filter((balance) => balance.posted !== 0 || balance.pending !== 0);
  if (shown.length === 0) {
    return (
      <p data-testid="balance-empty">
        Your wallet is empty.{' '}
        <Link to={`${BASE}/top-up`} navigate={props.navigate}>
          Top it up
        </Link>{' '}
        or at any checkout.
      </p>
    );
  }
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

/** Every day from `since` to today (UTC), with the day's spending and refunds in `currency` (0 on quiet days). */
export function chartPoints(days: SpendingDay[], since: string, currency: string, today = new Date()): Point[] {
  const byDate = new Map(days.filter((day) => day.currency === currency).map((day) => [day.date, day]));
  const points: Point[] = [];
  const end = today.toISOString().slice(0, 10);
  for (let date = new Date(`${since}T00:00:00Z`), guard = 0; guard < 400; guard += 1, date.setUTCDate(date.getUTCDate() + 1)) {
    const key = date.toISOString().slice(0, 10);
    const day = byDate.get(key);
    points.push({ t: key.slice(5), spent: day?.spent ?? 0, refunded: day?.refunded ?? 0 });
    if (key >= end) break;
  }
  return points;
}

function SpendingChart(props: { api: WalletApi; currencies: string[] }) {
  const [spending, setSpending] = useState<{ since: string; days: SpendingDay[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { api } = props;
  useEffect(() => {
    api
      .spending(CHART_DAYS)
      .then(setSpending)
      .catch((caught: unknown) => setError(messageOf(caught)));
  }, [api]);
  const currencies = useMemo(() => {
    const seen = new Set(props.currencies);
    for (const day of spending?.days ?? []) seen.add(day.currency);
    return [...seen].sort();
  }, [props.currencies, spending]);
  const [chosen, setChosen] = useState<string | null>(null);
  const currency = chosen && currencies.includes(chosen) ? chosen : currencies[0];
  if (error) return <Status error={`The spending chart is not available: ${error}`} />;
  if (!spending) return <p aria-busy="true">Loading the chart…</p>;
  if (!currency) return <p data-testid="spending-empty">No spending in the last {CHART_DAYS} days.</p>;
  return (
    <section className="card" aria-labelledby="spending-title" data-testid="spending">
      <h2 id="spending-title">Spending, last {CHART_DAYS} days</h2>
      {currencies.length > 1 ? (
        <>
          <label htmlFor="spending-currency">Currency</label>
          <select id="spending-currency" value={currency} onChange={(event) => setChosen(event.target.value)}>
            {currencies.map((one) => (
              <option key={one}>{one}</option>
            ))}
          </select>
        </>
      ) : null}
      <TimeSeriesChart
        title={`Spent and refunded per day (${currency})`}
        data={chartPoints(spending.days, spending.since, currency)}
        series={[
          { key: 'spent', label: 'Spent', color: '#1f4fd1' },
          { key: 'refunded', label: 'Refunded', color: '#126b36' },
        ]}
        format={(value) => formatAmount(Math.round(value), currency)}
        kind="area"
        height={200}
      />
    </section>
  );
}

export function Overview(props: { api: WalletApi; navigate: Navigate; onEntries: (entries: HistoryEntry[]) => void }) {
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
  const currencies = useMemo(() => (balances ?? []).filter((balance) => balance.posted !== 0 || balance.pending !== 0).map((balance) => balance.currency), [balances]);
  return (
    <section aria-labelledby="balance-title">
      <h1 id="balance-title">Balance</h1>
      {balances ? <Balances balances={balances} navigate={props.navigate} /> : error ? null : <p aria-busy="true">Loading…</p>}
      <p>
        <Link to={`${BASE}/top-up`} navigate={props.navigate} className="button" testId="top-up-link">
          Top up
        </Link>
      </p>
      {balances ? <SpendingChart api={api} currencies={currencies} /> : null}
      <h2>Recent activity</h2>
      <Entries entries={recent} navigate={props.navigate} />
      <p>
        <Link to={`${BASE}/history`} navigate={props.navigate}>
          All history
        </Link>
      </p>
      <Status error={error} />
    </section>
  );
}
