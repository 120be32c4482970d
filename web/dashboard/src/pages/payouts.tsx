// Payouts: the list (automatic and on demand) and, for roles with payouts:write, a payout now.
import { useState, type FormEvent } from 'react';
import { parseMajorAmount } from '../../../checkout/src/frame/format.ts';
import { get, post, type Payout } from '../api.ts';
import { Badge, dateOf, Money, NoPermission, PagedRows, Status, StatusFilter, SubmitRow, useAction, useLoad, useNav, usePagedList } from '../ui.tsx';

interface PayoutSettings {
  bank_account: { type: 'iban' | 'account_number'; last4: string; country: string | null; account_holder_name: string } | null;
  schedule: { interval: 'daily' | 'weekly' | 'manual'; weekly_anchor: string };
  minimum_amounts: Record<string, number>;
  next_run: number | null;
}

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

export function PayoutsPage() {
  const { can } = useNav();
  const [status, setStatus] = useState('');
  const list = usePagedList<Payout>('/v1/payouts', { status: status || undefined });
  return (
    <>
      <h1>Payouts</h1>
      <SettingsCard editable={can('payouts:write')} />
      {can('payouts:write') ? <PayoutForm onDone={list.reload} /> : <NoPermission permission="payouts:write" />}
      <StatusFilter id="payout-status" value={status} onChange={setStatus} statuses={['pending', 'in_transit', 'paid', 'failed']} />
      <PagedRows list={list} testId="payouts" emptyText="No payouts yet.">
        {(payout) => (
          <li key={payout.id} className="row">
            <span className="what">{payout.description ?? (payout.automatic ? 'Scheduled payout' : 'Payout')}</span>
            <span className="amount">
              <Money amount={payout.amount} currency={payout.currency} />
            </span>
            <span className="muted small mono">{payout.id}</span>
            <Badge status={payout.status} />
            <span className="muted small">{payout.paid_at ? `Paid ${dateOf(payout.paid_at)}` : dateOf(payout.created)}</span>
            <span className="error small">{payout.failure_message ?? ''}</span>
          </li>
        )}
      </PagedRows>
    </>
  );
}

function PayoutForm(props: { onDone: () => void }) {
  const [amount, setAmount] = useState('');
  const [currency, setCurrency] = useState('USD');
  const { error, setError, notice, setNotice, busy, run } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setNotice(null);
    const minor = parseMajorAmount(amount, currency);
    if (minor === null || minor <= 0n) return setError('Enter an amount, like 100 or 12.50.');
    await run(async () => {
      const payout = await post<Payout>('/v1/payouts', { amount: Number(minor), currency });
      setNotice(`Payout ${payout.status}.`);
      setAmount('');
      props.onDone();
    });
  };
  return (
    <form className="card filters" onSubmit={submit} aria-labelledby="payout-now-heading">
      <h2 id="payout-now-heading" className="wide">
        Pay out now
      </h2>
      <div>
        <label htmlFor="payout-amount">Amount</label>
        <input id="payout-amount" inputMode="decimal" value={amount} onChange={(event) => setAmount(event.target.value)} />
      </div>
      <div>
        <label htmlFor="payout-currency">Currency</label>
        <select id="payout-currency" value={currency} onChange={(event) => setCurrency(event.target.value)}>
          {['USD', 'EUR', 'GBP', 'JPY', 'KRW', 'BHD'].map((code) => (
            <option key={code}>{code}</option>
          ))}
        </select>
      </div>
      <SubmitRow busy={busy} error={error} notice={notice}>
        {busy ? 'Sending…' : 'Pay out now'}
      </SubmitRow>
    </form>
  );
}

function SettingsCard(props: { editable: boolean }) {
  const settings = useLoad(() => get<PayoutSettings>('/v1/payout_settings'), []);
  const [editing, setEditing] = useState(false);
  const [accountNumber, setAccountNumber] = useState('');
  const [holder, setHolder] = useState('');
  const [interval, setPayoutInterval] = useState<'daily' | 'weekly' | 'manual'>('manual');
  const [anchor, setAnchor] = useState('monday');
  const { error, busy, run } = useAction();
  const current = settings.data;
  const open = () => {
    setPayoutInterval(current?.schedule.interval ?? 'manual');
    setAnchor(current?.schedule.weekly_anchor ?? 'monday');
    setHolder(current?.bank_account?.account_holder_name ?? '');
    setAccountNumber('');
    setEditing(true);
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      // The account number is sent only when typed again: the API never shows it back in full.
      const bank = accountNumber.trim() ? { bank_account: { account_number: accountNumber.trim(), account_holder_name: holder.trim() } } : {};
      await post('/v1/payout_settings', { ...bank, schedule: { interval, ...(interval === 'weekly' ? { weekly_anchor: anchor } : {}) } });
      setEditing(false);
      settings.reload();
    });
  };
  return (
    <section className="card" aria-labelledby="payout-settings-heading" data-testid="payout-settings">
      <h2 id="payout-settings-heading">Bank account and schedule</h2>
      <Status error={settings.error} />
      {current && (
        <dl className="details">
          <dt>Bank account</dt>
          <dd data-testid="bank-account">
            {current.bank_account ? `${current.bank_account.type === 'iban' ? 'IBAN' : 'Account'} ending ${current.bank_account.last4}, ${current.bank_account.account_holder_name}` : 'None yet'}
          </dd>
          <dt>Schedule</dt>
          <dd>
            {current.schedule.interval === 'weekly' ? `weekly, on ${current.schedule.weekly_anchor}` : current.schedule.interval}
            {current.next_run ? ` · next ${dateOf(current.next_run)}` : ''}
          </dd>
          <dt>Smallest payout</dt>
          <dd>
            {Object.entries(current.minimum_amounts).map(([code, amount], index) => (
              <span key={code}>
                {index > 0 ? ', ' : ''}
                <Money amount={amount} currency={code} />
              </span>
            ))}
          </dd>
        </dl>
      )}
      {props.editable && !editing && (
        <button type="button" onClick={open} data-testid="payout-settings-edit">
          Change
        </button>
      )}
      {editing && (
        <form onSubmit={submit} aria-label="Payout settings">
          <div className="filters">
            <div className="wide">
              <label htmlFor="bank-number">IBAN or account number{current?.bank_account ? ' (leave empty to keep the current one)' : ''}</label>
              <input id="bank-number" autoComplete="off" value={accountNumber} onChange={(event) => setAccountNumber(event.target.value)} />
            </div>
            <div className="wide">
              <label htmlFor="bank-holder">Account holder</label>
              <input id="bank-holder" value={holder} onChange={(event) => setHolder(event.target.value)} />
            </div>
            <div>
              <label htmlFor="payout-interval">Schedule</label>
              <select id="payout-interval" value={interval} onChange={(event) => setPayoutInterval(event.target.value as 'daily' | 'weekly' | 'manual')}>
                <option value="manual">manual</option>
                <option value="daily">daily</option>
                <option value="weekly">weekly</option>
              </select>
            </div>
            {interval === 'weekly' && (
              <div>
                <label htmlFor="payout-anchor">On</label>
                <select id="payout-anchor" value={anchor} onChange={(event) => setAnchor(event.target.value)}>
                  {WEEKDAYS.map((day) => (
                    <option key={day}>{day}</option>
                  ))}
                </select>
              </div>
            )}
          </div>
          <Status error={error} />
          <div className="buttons">
            <button type="submit" disabled={busy} data-testid="payout-settings-save">
              Save
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
