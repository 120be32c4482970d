// Overview: the risk engine per UTC day (GET /v1/risk/metrics): decisions by outcome, the challenge
// rate and the fraud caught, as charts with their figures; the totals of the window; the open reviews.
import { useState } from 'react';
import { formatAmount } from '../../../checkout/src/frame/format.ts';
import { TimeSeriesChart } from '../../../staff/charts.tsx';
import { get, type List, type Metrics, type Review } from '../api.ts';
import { Link, Loading, percent, Status, useLoad, useNav } from '../ui.tsx';

const WINDOWS = [7, 30, 90] as const;
const usd = (cents: number) => formatAmount(Math.round(cents), 'USD');

export function OverviewPage() {
  const { can } = useNav();
  const [days, setDays] = useState<number>(30);
  const metrics = useLoad(() => get<Metrics>('/v1/risk/metrics', { days }), [days]);
  const open = useLoad(() => get<List<Review>>('/v1/risk/reviews', { status: 'open', limit: 100 }), []);
  const data = metrics.data?.data ?? [];
  const totals = metrics.data?.totals;
  const decisions = data.map((day) => ({ t: day.date, allow: day.decisions.allow, challenge: day.decisions.challenge, review: day.decisions.review, block: day.decisions.block }));
  const challengeRate = data.map((day) => ({ t: day.date, rate: day.challenge_rate ?? 0 }));
  const fraud = data.map((day) => ({ t: day.date, labelled: day.fraud_labelled_value_usd_cents, caught: day.fraud_caught_value_usd_cents }));

  return (
    <>
      <h1>Overview</h1>
      <Status error={metrics.error ?? open.error} />
      <label className="inline">
        Window
        <select value={days} onChange={(event) => setDays(Number(event.target.value))} data-testid="window">
          {WINDOWS.map((value) => (
            <option key={value} value={value}>
              Last {value} days
            </option>
          ))}
        </select>
      </label>
      <Loading loading={metrics.loading && !metrics.data} />
      {totals ? (
        <ul className="tiles" data-testid="totals">
          <li className="card tile">
            <span className="label">Decisions</span>
            <span className="amount" data-testid="total-decisions">{totals.decisions.total.toLocaleString()}</span>
            <span className="small muted">
              {totals.decisions.allow} allowed · {totals.decisions.challenge} challenged · {totals.decisions.review} reviewed · {totals.decisions.block} blocked
            </span>
          </li>
          <li className="card tile">
            <span className="label">Challenge rate</span>
            <span className="amount">{percent(totals.challenge_rate)}</span>
          </li>
          <li className="card tile">
            <span className="label">Fraud caught (value)</span>
            <span className="amount">{percent(totals.fraud_value_caught_rate)}</span>
            <span className="small muted">
              {usd(totals.fraud_caught_value_usd_cents)} of {usd(totals.fraud_labelled_value_usd_cents)} labelled fraud
            </span>
          </li>
          <li className="card tile">
            <span className="label">Open reviews</span>
            <span className="amount" data-testid="open-reviews">
              {open.data ? `${open.data.data.length}${open.data.has_more ? '+' : ''}` : '—'}
            </span>
            {can('risk:read') ? <Link to="/console/reviews">Go to the queue</Link> : null}
          </li>
        </ul>
      ) : null}
      {metrics.data ? (
        <div className="charts" data-testid="charts">
          <section className="card">
            <TimeSeriesChart
              title="Decisions per day"
              data={decisions}
              series={[
                { key: 'allow', label: 'Allowed', color: '#126b36' },
                { key: 'challenge', label: 'Challenged', color: '#1f4fd1' },
                { key: 'review', label: 'Reviewed', color: '#8a5a00' },
                { key: 'block', label: 'Blocked', color: '#a3161c' },
              ]}
            />
          </section>
          <section className="card">
            <TimeSeriesChart title="Challenge rate" data={challengeRate} series={[{ key: 'rate', label: 'Challenged share of decisions', color: '#1f4fd1' }]} format={(value) => percent(value)} />
          </section>
          <section className="card">
            <TimeSeriesChart
              title="Fraud caught (US dollars at reference rates)"
              data={fraud}
              kind="area"
              series={[
                { key: 'labelled', label: 'Labelled fraud', color: '#a3161c' },
                { key: 'caught', label: 'Caught', color: '#126b36' },
              ]}
              format={usd}
            />
          </section>
          <p className="small muted">
            Fraud is what reviews, chargebacks and failed step-ups label as fraud; caught means blocked, held for a review nobody approved, or challenged and never confirmed. Labels arrive late, so the last days undercount.
          </p>
        </div>
      ) : null}
    </>
  );
}
