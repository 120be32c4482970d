// Ledger health: the verification of `micropay ledger verify` (GET /v1/ledger/health, kept a minute by
// the server): the verdict, what was checked, totals per asset and whether each balances, and any
// drift, imbalance or limit violation. Sums are minor units as the ledger holds them.
import { useState } from 'react';
import { get, type LedgerHealth } from '../api.ts';
import { Badge, dateOf, Loading, Status, useLoad } from '../ui.tsx';

const units = (value: string) => BigInt(value).toLocaleString();

export function LedgerPage() {
  const [round, setRound] = useState(0);
  const health = useLoad(() => get<LedgerHealth>('/v1/ledger/health', round > 0 ? { refresh: 'true' } : {}), [round]);
  const data = health.data;
  return (
    <>
      <h1>Ledger health</h1>
      <Status error={health.error} />
      <Loading loading={health.loading && !data} />
      {data ? (
        <>
          <section className={`card verdict ${data.ok ? 'verdict-ok' : 'verdict-bad'}`} data-testid="ledger-verdict" role="status">
            <strong>{data.ok ? 'Balanced: every balance matches its transfers' : 'Inconsistent: see below'}</strong>
            <p className="small muted">
              {data.accounts_checked.toLocaleString()} accounts and {data.transfers_checked.toLocaleString()} transfers checked at {dateOf(data.checked_at)} in {data.duration_ms} ms
              {data.cached ? ' (kept from an earlier run)' : ''}.
            </p>
            <button type="button" onClick={() => setRound((value) => value + 1)} disabled={health.loading} data-testid="verify-again">
              {health.loading ? 'Verifying…' : 'Verify again'}
            </button>
          </section>
          <section aria-labelledby="assets-heading">
            <h2 id="assets-heading">Totals per asset</h2>
            <div className="table-scroll">
              <table className="table" data-testid="assets">
                <thead>
                  <tr>
                    <th scope="col">Asset</th>
                    <th scope="col">Balances</th>
                    <th scope="col">Transfers</th>
                    <th scope="col">Posted</th>
                    <th scope="col">Pending</th>
                    <th scope="col">Debits posted</th>
                    <th scope="col">Credits posted</th>
                    <th scope="col">Debits pending</th>
                    <th scope="col">Credits pending</th>
                  </tr>
                </thead>
                <tbody>
                  {data.assets.map((asset) => (
                    <tr key={asset.asset} data-testid={`asset-${asset.asset}`}>
                      <th scope="row">{asset.asset}</th>
                      <td>
                        <Badge status={asset.balanced ? 'balanced' : 'unbalanced'} />
                      </td>
                      <td>{asset.transfers.toLocaleString()}</td>
                      <td>{units(asset.posted)}</td>
                      <td>{units(asset.pending)}</td>
                      <td>{units(asset.debits_posted)}</td>
                      <td>{units(asset.credits_posted)}</td>
                      <td>{units(asset.debits_pending)}</td>
                      <td>{units(asset.credits_pending)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p className="small muted">Amounts in minor units of each asset (cents, won, points).</p>
          </section>
          {data.drift_count > 0 ? (
            <section className="card" aria-labelledby="drift-heading">
              <h2 id="drift-heading">Drift ({data.drift_count} balances)</h2>
              <ul className="plain mono small">
                {data.drift.map((row) => (
                  <li key={`${row.account}-${row.field}`}>
                    {row.account} {row.field}: stored {units(row.stored)}, computed {units(row.computed)}
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
          {data.asset_imbalance.length > 0 ? (
            <section className="card" aria-labelledby="imbalance-heading">
              <h2 id="imbalance-heading">Imbalance</h2>
              <ul className="plain mono small">
                {data.asset_imbalance.map((row) => (
                  <li key={row.asset}>
                    {row.asset}: debits − credits = {units(row.debits_minus_credits)}
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
          {data.limit_violation_count > 0 ? (
            <section className="card" aria-labelledby="limits-heading">
              <h2 id="limits-heading">Accounts past their limit ({data.limit_violation_count})</h2>
              <ul className="plain mono small">
                {data.limit_violations.map((id) => (
                  <li key={id}>{id}</li>
                ))}
              </ul>
            </section>
          ) : null}
        </>
      ) : null}
    </>
  );
}
