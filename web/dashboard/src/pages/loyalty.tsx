// Loyalty: the merchant's points program (GET/PUT /v1/loyalty/program): how many points an amount
// earns, multipliers per category, expiry, on or off. Roles without loyalty:write see it read-only.
import { useEffect, useState, type FormEvent } from 'react';
import { parseMajorAmount, toMajorDecimal } from '../../../checkout/src/frame/format.ts';
import { get, put, type LoyaltyProgram } from '../api.ts';
import { StaffApiError } from '../../../staff/session.ts';
import { dateOf, NoPermission, Status, useAction, useLoad, useNav } from '../ui.tsx';

const CATEGORIES = ['virtual_good', 'article', 'song', 'in_app', 'subscription_addon', 'tip', 'gift_card', 'game_credit', 'other'];
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'KRW', 'BHD'];

export function LoyaltyPage() {
  const { can } = useNav();
  const program = useLoad(
    () =>
      get<LoyaltyProgram>('/v1/loyalty/program').catch((error: unknown) => {
        if (error instanceof StaffApiError && error.status === 404) return null;
        throw error;
      }),
    [],
  );
  const editable = can('loyalty:write');
  const [perAmount, setPerAmount] = useState('1');
  const [currency, setCurrency] = useState('USD');
  const [points, setPoints] = useState('1');
  const [bonus, setBonus] = useState<Record<string, string>>({});
  const [expiry, setExpiry] = useState('');
  const [enabled, setEnabled] = useState(true);
  const { error, setError, notice, setNotice, busy, run } = useAction();

  useEffect(() => {
    const current = program.data;
    if (!current) return;
    setCurrency(current.earn.currency);
    setPerAmount(toMajorDecimal(current.earn.per_amount, current.earn.currency));
    setPoints(String(current.earn.points));
    setBonus(Object.fromEntries(Object.entries(current.bonus_categories).map(([name, value]) => [name, String(value)])));
    setExpiry(current.expiry_days === null ? '' : String(current.expiry_days));
    setEnabled(current.enabled);
  }, [program.data]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setNotice(null);
    const perMinor = parseMajorAmount(perAmount, currency);
    if (perMinor === null || perMinor <= 0n) return setError(`Enter the amount that earns points, like ${toMajorDecimal(100, currency)}.`);
    if (!/^[0-9]{1,10}$/.test(points) || Number(points) < 1) return setError('Points must be a whole number of at least 1.');
    if (expiry !== '' && (!/^[0-9]{1,4}$/.test(expiry) || Number(expiry) < 1 || Number(expiry) > 3650)) return setError('Expiry must be 1 to 3650 days, or empty for never.');
    const multipliers: Record<string, number> = {};
    for (const [name, value] of Object.entries(bonus)) {
      if (value.trim() === '') continue;
      if (!/^[0-9]{1,3}(\.[0-9]{1,2})?$/.test(value.trim()) || Number(value) > 100) return setError(`The multiplier of ${name.replaceAll('_', ' ')} must be 0 to 100, up to two decimals.`);
      multipliers[name] = Number(value);
    }
    await run(async () => {
      await put<LoyaltyProgram>('/v1/loyalty/program', {
        earn: { per_amount: Number(perMinor), currency, points: Number(points) },
        bonus_categories: multipliers,
        expiry_days: expiry === '' ? null : Number(expiry),
        enabled,
      });
      setNotice('The loyalty program is saved.');
      program.reload();
    });
  };

  return (
    <>
      <h1>Loyalty</h1>
      <Status error={program.error} />
      {program.data === null && !program.loading && <p className="muted">No loyalty program yet{editable ? ': set one below.' : '.'}</p>}
      {program.data && (
        <p className="muted" data-testid="loyalty-version">
          Version {program.data.version}, saved {dateOf(program.data.updated)}. {program.data.enabled ? 'Buyers earn points.' : 'Earning is off.'}
        </p>
      )}
      {!editable && <NoPermission permission="loyalty:write" />}
      <form className="card" onSubmit={submit} aria-label="Loyalty rules" data-testid="loyalty-form">
        <fieldset disabled={!editable || busy}>
          <legend>Earning</legend>
          <div className="filters">
            <div>
              <label htmlFor="earn-amount">Every</label>
              <input id="earn-amount" inputMode="decimal" value={perAmount} onChange={(event) => setPerAmount(event.target.value)} />
            </div>
            <div>
              <label htmlFor="earn-currency">Currency</label>
              <select id="earn-currency" value={currency} onChange={(event) => setCurrency(event.target.value)}>
                {CURRENCIES.map((code) => (
                  <option key={code}>{code}</option>
                ))}
              </select>
            </div>
            <div>
              <label htmlFor="earn-points">earns points</label>
              <input id="earn-points" inputMode="numeric" value={points} onChange={(event) => setPoints(event.target.value)} />
            </div>
          </div>
          <h2>Bonus categories</h2>
          <p className="muted small">A multiplier per category (1 is the normal rate, 2 double); empty for the normal rate.</p>
          <div className="filters">
            {CATEGORIES.map((name) => (
              <div key={name}>
                <label htmlFor={`bonus-${name}`}>{name.replaceAll('_', ' ')}</label>
                <input id={`bonus-${name}`} inputMode="decimal" value={bonus[name] ?? ''} onChange={(event) => setBonus({ ...bonus, [name]: event.target.value })} />
              </div>
            ))}
          </div>
          <div className="filters">
            <div>
              <label htmlFor="expiry-days">Points expire after (days)</label>
              <input id="expiry-days" inputMode="numeric" value={expiry} placeholder="never" onChange={(event) => setExpiry(event.target.value)} />
            </div>
            <div className="check">
              <input id="program-enabled" type="checkbox" checked={enabled} onChange={(event) => setEnabled(event.target.checked)} />
              <label htmlFor="program-enabled">Earning on</label>
            </div>
          </div>
          <Status error={error} notice={notice} />
          {editable && (
            <button type="submit" data-testid="loyalty-save">
              {busy ? 'Saving…' : 'Save rules'}
            </button>
          )}
        </fieldset>
      </form>
    </>
  );
}
