// Merchants: every merchant of the installation (name, status, fee, created), and one merchant with
// its payment volume over the last 30 days (per currency: totals and a daily chart) and its disputes.
import { formatAmount } from '../../../checkout/src/frame/format.ts';
import { TimeSeriesChart } from '../../../staff/charts.tsx';
import { get, type Dispute, type List, type Merchant, type MerchantVolume } from '../api.ts';
import { Badge, dateOf, DetailHeader, Link, Loading, Money, MoreButton, Status, useLoad, usePagedList } from '../ui.tsx';

const fee = (merchant: Merchant) => {
  const fixed = Object.entries(merchant.fee_fixed).map(([currency, amount]) => `${amount} ${currency} minor units`);
  return [`${(merchant.fee_bps / 100).toFixed(2)}%`, ...fixed].join(' + ');
};

export function MerchantsPage() {
  const list = usePagedList<Merchant>('/v1/merchants', {}, 50);
  return (
    <>
      <h1>Merchants</h1>
      <Status error={list.error} />
      <Loading loading={list.loading && list.items.length === 0} empty={list.items.length === 0} emptyText="No merchants yet." />
      <ul className="rows" data-testid="merchants">
        {list.items.map((merchant) => (
          <li key={merchant.id}>
            <Link to={`/console/merchants/${encodeURIComponent(merchant.id)}`} className="rowlink" testId={`merchant-${merchant.id}`}>
              <span className="what">{merchant.name}</span>
              <Badge status={merchant.status} />
              <span className="small mono">{merchant.id}</span>
              <span className="small muted">since {new Date(merchant.created * 1000).toLocaleDateString()}</span>
            </Link>
          </li>
        ))}
      </ul>
      <MoreButton hasMore={list.hasMore} loading={list.loading} onMore={() => void list.more()} />
    </>
  );
}

const VOLUME_DAYS = 30;
const VOLUME_TITLE = `Volume, last ${VOLUME_DAYS} days`;

function VolumeCard({ entry }: { entry: MerchantVolume['currencies'][number] }) {
  const { currency, totals } = entry;
  const headingId = `volume-${currency}-heading`;
  const figures: Array<[string, keyof typeof totals, 'count' | 'money']> = [
    ['Payments captured', 'payments', 'count'],
    ['Amount captured', 'volume', 'money'],
    ['Refunded', 'refunded', 'money'],
    ['Platform fees', 'fees', 'money'],
    ['Failed payments', 'failed', 'count'],
  ];
  return (
    <section className="card" aria-labelledby={headingId} data-testid={`volume-${currency}`}>
      <h2 id={headingId}>
        {VOLUME_TITLE}, {currency}
      </h2>
      <dl className="details">
        {figures.map(([label, key, kind]) => (
          <div key={key} className="contents">
            <dt>{label}</dt>
            <dd className="amount" data-testid={`volume-${key}`}>
              {kind === 'money' ? <Money amount={totals[key]} currency={currency} /> : totals[key].toLocaleString()}
            </dd>
          </div>
        ))}
      </dl>
      <TimeSeriesChart
        title={`Per day, ${currency}`}
        kind="area"
        // Minor units are plotted as they are (safe integers) and only formatted for reading.
        data={entry.days.map((day) => ({ t: day.date.slice(5), volume: day.volume, refunded: day.refunded, fees: day.fees }))}
        series={[
          { key: 'volume', label: 'Captured', color: '#1f4fd1' },
          { key: 'refunded', label: 'Refunded', color: '#a3161c' },
          { key: 'fees', label: 'Platform fees', color: '#126b36' },
        ]}
        format={(value) => formatAmount(Math.round(value), currency)}
      />
    </section>
  );
}

/** The merchant's payments per currency over the last 30 days, in the console's mode. */
function MerchantVolumeCards(props: { id: string }) {
  const volume = useLoad(() => get<MerchantVolume>(`/v1/merchants/${encodeURIComponent(props.id)}/volume`, { days: VOLUME_DAYS }), [props.id]);
  const currencies = volume.data?.currencies ?? [];
  return (
    <div data-testid="merchant-volume">
      <Status error={volume.error} />
      <Loading loading={volume.loading && !volume.data} />
      {volume.data && currencies.length === 0 ? (
        <section className="card" aria-labelledby="volume-heading">
          <h2 id="volume-heading">{VOLUME_TITLE}</h2>
          <p className="muted" data-testid="volume-empty">
            No payments in the last {VOLUME_DAYS} days.
          </p>
        </section>
      ) : null}
      {currencies.map((entry) => (
        <VolumeCard key={entry.currency} entry={entry} />
      ))}
    </div>
  );
}

export function MerchantDetailPage(props: { id: string }) {
  const merchant = useLoad(() => get<Merchant>(`/v1/merchants/${encodeURIComponent(props.id)}`), [props.id]);
  const disputes = useLoad(() => get<List<Dispute>>('/v1/disputes', { merchant: props.id, limit: 20 }), [props.id]);
  const data = merchant.data;
  return (
    <>
      <DetailHeader back="/console/merchants" backLabel="Merchants" title={data?.name ?? 'Merchant'} error={merchant.error} />
      <Loading loading={merchant.loading && !data} />
      {data ? (
        <section className="card" data-testid="merchant">
          <dl className="details">
            <dt>Id</dt>
            <dd className="mono">{data.id}</dd>
            <dt>Status</dt>
            <dd>
              <Badge status={data.status} />
            </dd>
            <dt>Platform fee</dt>
            <dd>{fee(data)}</dd>
            <dt>Created</dt>
            <dd>{dateOf(data.created)}</dd>
            {Object.entries(data.metadata).map(([name, value]) => (
              <div key={name} className="contents">
                <dt className="mono">{name}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
        </section>
      ) : null}
      {data ? <MerchantVolumeCards id={data.id} /> : null}
      <section aria-labelledby="merchant-disputes">
        <h2 id="merchant-disputes">Disputes (latest 20, this mode)</h2>
        <Status error={disputes.error} />
        <Loading loading={disputes.loading} empty={(disputes.data?.data.length ?? 0) === 0} emptyText="No disputes." />
        <ul className="rows">
          {disputes.data?.data.map((dispute) => (
            <li key={dispute.id} className="row">
              <span className="what">
                <Money amount={dispute.amount} currency={dispute.currency} /> · {dispute.reason.replaceAll('_', ' ')}
              </span>
              <Badge status={dispute.status} />
              <span className="small mono">{dispute.payment}</span>
              <span className="small muted">{dateOf(dispute.created)}</span>
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
