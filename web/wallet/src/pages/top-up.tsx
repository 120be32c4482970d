// Top up the wallet from a new or saved card, as the checkout's inline top-up does: the card goes to Micropay's API
// (POST /v1/buyer/top_ups); when the bank asks for 3-D Secure its page opens in a popup and this page
// confirms the top-up once the buyer passed it (polling, or "I have confirmed").
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { formatAmount, parseMajorAmount } from '../../../checkout/src/frame/format.ts';
import { WalletApiError, type CardBody, type SavedCard, type TopUp, type WalletApi } from '../api.ts';
import { BASE, Link, messageOf, Status, type Navigate } from '../ui.tsx';
import { openThreeDSecure, THREE_DS_WINDOW } from '../../../shared/three-d-secure.ts';

const CURRENCIES = ['USD', 'EUR', 'KRW', 'JPY', 'GBP'];
const THREE_DS_POLL_INTERVAL_MS = 2000;
const THREE_DS_WAIT_MS_MAX = 10 * 60 * 1000;

type Step = { kind: 'form' } | { kind: 'three_d_secure'; topUp: TopUp; popup: boolean } | { kind: 'done'; topUp: TopUp };

export function TopUpPage(props: { api: WalletApi; navigate: Navigate }) {
  const { api } = props;
  const [currency, setCurrency] = useState('USD');
  const [amount, setAmount] = useState('');
  const [number, setNumber] = useState('');
  const [expiry, setExpiry] = useState('');
  const [cvc, setCvc] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [step, setStep] = useState<Step>({ kind: 'form' });
  const [savedCards, setSavedCards] = useState<SavedCard[]>([]);
  // The id of the saved card to charge, or '' for a new card.
  const [source, setSource] = useState('');
  useEffect(() => {
    api
      .savedCards()
      .then((list) => {
        setSavedCards(list.data);
        setSource(list.data[0]?.id ?? '');
      })
      .catch(() => setSavedCards([]));
  }, [api]);
  // Kept across a failed network answer so that sending again cannot charge twice.
  const idempotencyKey = useRef<string | null>(null);

  const fail = (field: string, message: string) => {
    setInvalid(field);
    setError(message);
    document.getElementById(field)?.focus();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setInvalid(null);
    const minor = parseMajorAmount(amount, currency);
    if (minor === null || minor <= 0n) return fail('top-up-amount', 'Enter the amount to add, such as 10 or 10.50.');
    let card: CardBody | null = null;
    if (!source) {
      const cardNumber = number.replace(/[\s-]/g, '');
      if (!/^[0-9]{12,19}$/.test(cardNumber)) return fail('card-number', 'Enter the card number.');
      const expiryMatch = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(expiry);
      if (!expiryMatch) return fail('card-expiry', 'Enter the expiry date as MM/YY.');
      if (!/^[0-9]{3,4}$/.test(cvc.trim())) return fail('card-cvc', 'Enter the 3- or 4-digit security code.');
      const year = Number(expiryMatch[2]);
      card = { number: cardNumber, exp_month: Number(expiryMatch[1]), exp_year: year < 100 ? 2000 + year : year, cvc: cvc.trim() };
    }
    idempotencyKey.current ??= crypto.randomUUID();
    setBusy(true);
    try {
      const topUp = await api.topUp({ amount: Number(minor), currency, ...(card ? { card } : { payment_method: source }) }, idempotencyKey.current);
      idempotencyKey.current = null;
      after(topUp);
    } catch (caught) {
      // A refusal by the API ends this attempt; a lost answer keeps the key for the retry.
      if (caught instanceof WalletApiError) idempotencyKey.current = null;
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  };

  function after(topUp: TopUp) {
    if (topUp.status === 'succeeded') return setStep({ kind: 'done', topUp });
    if (topUp.status === 'requires_action' && topUp.next_action?.url) {
      const popup = openThreeDSecure(topUp.next_action.url);
      return setStep({ kind: 'three_d_secure', topUp, popup: popup !== null });
    }
    setStep({ kind: 'form' });
    setError(topUp.failure_message ?? 'The card was declined. Nothing was charged.');
  }

  if (step.kind === 'done') {
    return (
      <section aria-labelledby="top-up-title">
        <h1 id="top-up-title">Top up</h1>
        <p className="notice" role="status" data-testid="top-up-done">
          Added {formatAmount(step.topUp.amount, step.topUp.currency)} to your wallet.
        </p>
        <p>
          <Link to={BASE} navigate={props.navigate}>
            Back to your balance
          </Link>
        </p>
      </section>
    );
  }
  if (step.kind === 'three_d_secure') return <ThreeDSecure api={api} topUp={step.topUp} popup={step.popup} onDone={after} onCancel={() => setStep({ kind: 'form' })} />;

  const describedBy = (id: string) => (invalid === id ? { 'aria-invalid': true, 'aria-describedby': 'top-up-error' } : {});
  return (
    <section aria-labelledby="top-up-title">
      <h1 id="top-up-title">Top up</h1>
      <form className="card" noValidate onSubmit={(event) => void submit(event)} aria-labelledby="top-up-title" data-testid="top-up-form">
        <label htmlFor="top-up-currency">Currency</label>
        <select id="top-up-currency" value={currency} onChange={(event) => setCurrency(event.target.value)}>
          {CURRENCIES.map((one) => (
            <option key={one}>{one}</option>
          ))}
        </select>
        <label htmlFor="top-up-amount">Amount in {currency}</label>
        <input id="top-up-amount" inputMode="decimal" autoComplete="off" value={amount} onChange={(event) => setAmount(event.target.value)} {...describedBy('top-up-amount')} />
        {savedCards.length > 0 ? (
          <fieldset className="choices">
            <legend>Pay with</legend>
            {savedCards.map((saved) => (
              <label key={saved.id} className="choice">
                <input type="radio" name="top-up-source" value={saved.id} checked={source === saved.id} onChange={() => setSource(saved.id)} />
                {saved.card.brand} •••• {saved.card.last4} (expires {String(saved.card.exp_month).padStart(2, '0')}/{String(saved.card.exp_year).slice(-2)})
              </label>
            ))}
            <label className="choice">
              <input type="radio" name="top-up-source" value="" checked={source === ''} onChange={() => setSource('')} data-testid="new-card" />A new card
            </label>
          </fieldset>
        ) : null}
        {source ? null : (
          <>
            <label htmlFor="card-number">Card number</label>
            <input id="card-number" inputMode="numeric" autoComplete="cc-number" value={number} onChange={(event) => setNumber(event.target.value)} {...describedBy('card-number')} />
            <div className="row">
              <div>
                <label htmlFor="card-expiry">Expiry (MM/YY)</label>
                <input id="card-expiry" autoComplete="cc-exp" value={expiry} onChange={(event) => setExpiry(event.target.value)} {...describedBy('card-expiry')} />
              </div>
              <div>
                <label htmlFor="card-cvc">Security code</label>
                <input id="card-cvc" inputMode="numeric" autoComplete="cc-csc" value={cvc} onChange={(event) => setCvc(event.target.value)} {...describedBy('card-cvc')} />
              </div>
            </div>
          </>
        )}
        <button type="submit" disabled={busy} data-testid="top-up-submit">
          {busy ? 'Topping up…' : 'Top up'}
        </button>
        {error ? (
          <p className="error" role="alert" id="top-up-error" data-testid="error">
            {error}
          </p>
        ) : null}
      </form>
    </section>
  );
}

function ThreeDSecure(props: { api: WalletApi; topUp: TopUp; popup: boolean; onDone: (topUp: TopUp) => void; onCancel: () => void }) {
  const { api, topUp, onDone } = props;
  const [error, setError] = useState<string | null>(null);
  const settled = useRef(false);
  const checking = useRef(false);
  const check = async (byBuyer: boolean) => {
    if (settled.current || checking.current) return;
    checking.current = true;
    try {
      const confirmed = await api.confirmTopUp(topUp.id);
      settled.current = true;
      onDone(confirmed);
    } catch (caught) {
      if (caught instanceof WalletApiError && caught.error.code === 'three_d_secure_incomplete') {
        if (byBuyer) setError('Your bank has not confirmed yet. Finish in the verification window.');
      } else if (byBuyer || caught instanceof WalletApiError) {
        settled.current = true;
        setError(messageOf(caught));
      }
    } finally {
      checking.current = false;
    }
  };
  useEffect(() => {
    const startedAt = Date.now();
    const timer = window.setInterval(() => {
      if (settled.current || Date.now() - startedAt > THREE_DS_WAIT_MS_MAX) return window.clearInterval(timer);
      void check(false);
    }, THREE_DS_POLL_INTERVAL_MS);
    return () => window.clearInterval(timer);
    // One poller per challenge.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [topUp.id]);
  return (
    <section aria-labelledby="three-d-secure-title" data-testid="three-d-secure">
      <h1 id="three-d-secure-title">Confirm the top-up with your bank</h1>
      <p>{props.popup ? 'Your bank opened a window to confirm the top-up. Finish there; this page continues by itself.' : 'Open the verification page of your bank to confirm the top-up.'}</p>
      <p>
        <a href={topUp.next_action!.url} target={THREE_DS_WINDOW} rel="noopener noreferrer" className="button" data-testid="open-3ds">
          Open the verification page
        </a>
      </p>
      <button type="button" className="primary" onClick={() => void check(true)} data-testid="three-d-secure-done">
        I have confirmed
      </button>{' '}
      <button
        type="button"
        onClick={() => {
          settled.current = true;
          props.onCancel();
        }}
      >
        Cancel
      </button>
      <Status error={error} />
    </section>
  );
}
