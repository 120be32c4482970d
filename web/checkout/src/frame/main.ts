// The checkout frame: shows what is being paid and to whom, signs the buyer in with a passkey (or a
// one-time code), then one button pays. The server's answer chooses what follows: paid at once, a
// passkey confirmation bound to this payment, an inline top-up, or a plain message when risk holds
// or blocks the payment. Outcomes are posted to the embedding page (protocol.ts).
import './styles.css';
import { MESSAGE_SOURCE, isPageMessage, type CheckoutPayment, type FrameMessage } from '../shared/protocol.ts';
import { CheckoutApiError, createCheckoutApi, type CheckoutApi, type CheckoutResult, type CheckoutView, type Device, type PaymentMethod, type TopUp } from './api.ts';
import { formatAmount, parseMajorAmount, toMajorDecimal, toMinorUnits } from './format.ts';
import { createPasskey, paymentAssertion, passkeysSupported, signInAssertion } from './passkeys.ts';
import { createSessionStore, modeOf, type SessionStore } from './storage.ts';
import { busy, button, checkbox, field, h, setStatus, showStep } from './ui.ts';
import { openThreeDSecure, THREE_DS_WINDOW } from '../../../shared/three-d-secure.ts';

const THREE_DS_POLL_INTERVAL_MS = 1500;
const THREE_DS_WAIT_MS_MAX = 10 * 60 * 1000;
const FINAL_STATUSES = new Set(['succeeded', 'processing', 'failed', 'canceled']);

interface Context {
  api: CheckoutApi;
  sessions: SessionStore;
  view: CheckoutView | null;
  allowSpc: boolean;
  parentOrigin: string | null;
  /** The last outcome posted to the page, repeated when the page asks. */
  outcome: FrameMessage | null;
  /** Loyalty points the buyer chose to pay part of the payment with (0: none). */
  pointsToRedeem: number;
}

// ---- The embedding page ----------------------------------------------------------------------

/** The page's origin as the loader declared it, accepted only when the browser confirms it. */
function embeddingOrigin(params: URLSearchParams): string | null {
  if (window.parent === window) return null;
  const declared = params.get('origin');
  if (!declared) return null;
  let origin: string;
  try {
    origin = new URL(declared).origin;
  } catch {
    return null;
  }
  const ancestors = (location as Location & { ancestorOrigins?: DOMStringList }).ancestorOrigins;
  if (ancestors && ancestors.length > 0 && ancestors[0] !== origin) return null;
  return origin;
}

function post(context: Context, message: FrameMessage): void {
  if (!context.parentOrigin) return;
  window.parent.postMessage(message, context.parentOrigin);
}

function announce(context: Context, type: 'succeeded' | 'failed' | 'processing', payment: CheckoutPayment, message?: string): void {
  const outcome: FrameMessage = { source: MESSAGE_SOURCE, type, payment, ...(message ? { message } : {}) };
  context.outcome = outcome;
  post(context, outcome);
}

function watchSize(context: Context): void {
  let last = 0;
  const report = () => {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    post(context, { source: MESSAGE_SOURCE, type: 'resize', height });
  };
  new ResizeObserver(report).observe(document.body);
  report();
}

// ---- Helpers ---------------------------------------------------------------------------------

function amountOf(context: Context): string {
  const payment = context.view!.payment;
  return formatAmount(payment.amount, payment.currency);
}

/** "Use N points (−€0.50)" before the pay button, when the buyer's points can pay part of this payment;
 * checking it shows the money left to pay on the button. */
function pointsChoice(context: Context, payButton: HTMLButtonElement): HTMLElement | null {
  const view = context.view!;
  const offer = view.buyer?.points;
  context.pointsToRedeem = 0;
  if (!offer || toMinorUnits(offer.redeemable_points) <= 0n) return null;
  const points = Number(offer.redeemable_points);
  const value = toMinorUnits(offer.redeemable_value);
  const { currency } = view.payment;
  const choice = checkbox(`Use ${points} points (−${formatAmount(value, currency)})`, 'use-points', (checked) => {
    context.pointsToRedeem = checked ? points : 0;
    const due = toMinorUnits(view.payment.amount) - (checked ? value : 0n);
    payButton.textContent = `Pay ${formatAmount(due, currency)}`;
  });
  return choice.wrapper;
}

function deviceInfo(): Record<string, unknown> {
  return {
    user_agent: navigator.userAgent.slice(0, 500),
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    screen: `${screen.width}x${screen.height}`,
  };
}

function errorMessage(error: unknown): string {
  if (error instanceof CheckoutApiError) return error.message;
  const name = (error as { name?: string } | null)?.name;
  if (name === 'NotAllowedError') return 'The passkey prompt was closed or timed out. Nothing was charged.';
  if (name === 'TimeoutError' || name === 'AbortError') return 'Micropay did not answer in time. Check your connection and try again.';
  if (error instanceof TypeError) return 'Micropay could not be reached. Check your connection and try again.';
  return error instanceof Error && error.message ? error.message : 'Something went wrong. Please try again.';
}

function saveSignIn(context: Context, answer: { session: { token: string; expires_at: number | string | null }; device: { id: string } }): void {
  context.sessions.saveSession({ token: answer.session.token, expires_at: answer.session.expires_at });
  context.sessions.saveDevice(answer.device.id);
}

function supportLink(support: CheckoutResult['support'], paymentId: string): HTMLAnchorElement {
  let href = `mailto:support@${location.hostname}`;
  if (typeof support === 'string') href = support.includes('@') && !support.startsWith('mailto:') ? `mailto:${support}` : support;
  else if (support?.email) href = `mailto:${support.email}`;
  else if (support?.url) href = support.url;
  if (href.startsWith('mailto:')) href += `?subject=${encodeURIComponent(`Payment ${paymentId}`)}`;
  return h('a', { href, class: 'button secondary', 'data-testid': 'contact-support', target: href.startsWith('mailto:') ? undefined : '_blank', rel: 'noopener' }, 'Contact support');
}

// ---- The summary: what, to whom, how much, and one button -----------------------------------

function methodLabel(method: PaymentMethod, currency: string): string {
  if (method.type === 'wallet') return `Micropay wallet · ${formatAmount(method.available, currency)} available`;
  if (method.type === 'card') return `${method.brand} •••• ${method.last4} (top up)`;
  return 'Payment method';
}

async function loadAndShow(context: Context): Promise<void> {
  try {
    context.view = await context.api.view();
  } catch (error) {
    if (error instanceof CheckoutApiError && error.code === 'buyer_session_required') {
      context.view = await context.api.view();
    } else {
      showStep('step-error', 'This checkout could not be opened', h('p', { 'data-testid': 'error-message' }, errorMessage(error)));
      return;
    }
  }
  const payment = context.view.payment;
  if (FINAL_STATUSES.has(payment.status)) {
    showResult(context, { object: 'checkout_result', status: payment.status, payment, next_action: null, message: null });
    return;
  }
  showSummary(context);
}

function showSummary(context: Context): void {
  const view = context.view!;
  const { payment, payee, buyer } = view;
  const items = payment.line_items.length > 0
    ? payment.line_items.map((item) =>
        h(
          'li',
          { class: 'line' },
          h('span', {}, item.quantity > 1 ? `${item.description} × ${item.quantity}` : item.description),
          h('span', { class: 'money' }, formatAmount(toMinorUnits(item.unit_amount) * BigInt(item.quantity), payment.currency)),
        ),
      )
    : [h('li', { class: 'line' }, h('span', {}, payment.description ?? 'Payment'), h('span', { class: 'money' }, amountOf(context)))];
  const summary = [
    h('p', { class: 'payee', 'data-testid': 'payee' }, 'To ', h('strong', {}, payee.name)),
    h('ul', { class: 'lines', 'data-testid': 'line-items', 'aria-label': 'Items' }, ...items),
    h('p', { class: 'line total', 'data-testid': 'total' }, h('span', {}, 'Total'), h('span', { class: 'money' }, amountOf(context))),
  ];
  if (!buyer) {
    const passkeys = passkeysSupported();
    showStep(
      'checkout-summary',
      `Pay ${payee.name}`,
      ...summary,
      passkeys ? button('Continue with passkey', 'continue-passkey', () => void signInWithPasskey(context)) : h('p', {}, 'This browser does not support passkeys: sign in with a one-time code.'),
      h(
        'div',
        { class: 'secondary-actions' },
        passkeys ? button('Create a passkey', 'create-passkey', () => showSignUp(context), 'link') : null,
        button('Use a one-time code instead', 'use-code', () => showCodeSignIn(context), 'link'),
      ),
    );
    return;
  }
  const methods = [...buyer.payment_methods].sort((a, b) => Number(b.recommended) - Number(a.recommended));
  const payButton = button(`Pay ${amountOf(context)}`, 'pay-button', () => void pay(context));
  showStep(
    'checkout-summary',
    `Pay ${payee.name}`,
    ...summary,
    h(
      'p',
      { class: 'buyer', 'data-testid': 'buyer' },
      `Signed in${buyer.display_name ? ` as ${buyer.display_name}` : ''} · wallet `,
      h('strong', { 'data-testid': 'wallet-balance' }, formatAmount(buyer.wallet.available, buyer.wallet.currency)),
    ),
    h(
      'ul',
      { class: 'methods', 'data-testid': 'payment-methods', 'aria-label': 'Payment methods' },
      ...methods.map((method) =>
        h(
          'li',
          { 'data-testid': `method-${method.type}`, 'data-recommended': String(method.recommended) },
          methodLabel(method, payment.currency),
          method.recommended ? h('span', { class: 'badge' }, 'Recommended') : null,
        ),
      ),
    ),
    pointsChoice(context, payButton),
    payButton,
    h(
      'div',
      { class: 'secondary-actions' },
      button('Your devices', 'manage-devices', () => void showDevices(context), 'link'),
      button('Sign out', 'sign-out', () => void signOut(context), 'link'),
    ),
  );
}

// ---- Remembered devices ----------------------------------------------------------------------

/** The browsers the buyer is signed in on; removing one ends its sessions at once. */
async function showDevices(context: Context): Promise<void> {
  let devices: Device[];
  try {
    devices = (await busy('Loading your devices…', () => context.api.devices())).data.filter((device) => !device.revoked);
  } catch (error) {
    setStatus(errorMessage(error), 'error');
    return;
  }
  const when = (seconds: number) => new Date(seconds * 1000).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
  showStep(
    'devices',
    'Your devices',
    h('p', {}, 'Browsers where you are signed in to Micropay. Remove one you no longer use or do not recognise: it is signed out at once.'),
    h(
      'ul',
      { class: 'devices', 'aria-label': 'Devices' },
      ...devices.map((device) =>
        h(
          'li',
          { 'data-testid': 'device', 'data-current': String(device.current) },
          h('span', {}, h('strong', {}, device.name), ` · last used ${when(device.last_seen)}${device.current ? ' · this device' : ''}`),
          device.current ? null : removeButton(context, device),
        ),
      ),
    ),
    backButton(context),
  );
}

function removeButton(context: Context, device: Device): HTMLButtonElement {
  const remove = button('Remove', `remove-device-${device.id}`, () => void revokeDevice(context, device), 'link');
  remove.setAttribute('aria-label', `Remove ${device.name}`);
  return remove;
}

async function revokeDevice(context: Context, device: Device): Promise<void> {
  try {
    await busy(`Removing ${device.name}…`, () => context.api.revokeDevice(device.id));
  } catch (error) {
    setStatus(errorMessage(error), 'error');
    return;
  }
  await showDevices(context);
  setStatus(`${device.name} was removed and signed out.`, 'success');
}

// ---- Signing in ----------------------------------------------------------------------------

async function signInWithPasskey(context: Context): Promise<void> {
  try {
    await busy('Waiting for your passkey…', async () => {
      const { authentication, options } = await context.api.authenticationOptions();
      const credential = await signInAssertion(options);
      saveSignIn(context, await context.api.authenticationVerify(authentication, credential, context.sessions.device()));
    });
    await loadAndShow(context);
    setStatus('Signed in.', 'success');
  } catch (error) {
    const name = (error as { name?: string }).name;
    setStatus(
      name === 'NotAllowedError' ? 'No passkey was used. New here? Create a passkey, or use a one-time code.' : errorMessage(error),
      'error',
    );
  }
}

function showSignUp(context: Context): void {
  const email = field('Email', 'signup-email', { type: 'email', autocomplete: 'email', required: true }, 'For receipts, and to recover your account with a one-time code.');
  const form = h(
    'form',
    { novalidate: true },
    email.wrapper,
    h('button', { type: 'submit', class: 'button primary', 'data-testid': 'signup-submit' }, 'Create a passkey'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const address = email.input.value.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(address)) {
      email.input.setAttribute('aria-invalid', 'true');
      setStatus('Enter your email address, like ana@example.com.', 'error');
      email.input.focus();
      return;
    }
    email.input.removeAttribute('aria-invalid');
    void signUp(context, address);
  });
  showStep('sign-up', 'Create a passkey', h('p', {}, 'Your device keeps the passkey: you pay with your fingerprint, face or screen lock. No password.'), form, backButton(context));
}

async function signUp(context: Context, email: string): Promise<void> {
  try {
    await busy('Creating your passkey…', async () => {
      const { registration, options } = await context.api.registrationOptions({ email });
      const credential = await createPasskey(options);
      saveSignIn(context, await context.api.registrationVerify(registration, credential));
    });
    await loadAndShow(context);
    setStatus('Your passkey is ready.', 'success');
  } catch (error) {
    if (error instanceof CheckoutApiError && error.code === 'buyer_exists') {
      setStatus('This email already has an account: continue with your passkey, or use a one-time code.', 'error');
      return;
    }
    setStatus((error as { name?: string }).name === 'NotAllowedError' ? 'The passkey was not created. You can try again.' : errorMessage(error), 'error');
  }
}

function backButton(context: Context): HTMLButtonElement {
  return button('Back', 'back', () => showSummary(context), 'link');
}

function showCodeSignIn(context: Context): void {
  const address = field('Email or phone number', 'code-address', { type: 'text', autocomplete: 'email', required: true }, 'We send a 6-digit code to the address on your account.');
  const form = h('form', { novalidate: true }, address.wrapper, h('button', { type: 'submit', class: 'button primary', 'data-testid': 'send-sign-in-code' }, 'Send me a code'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = address.input.value.trim();
    if (!value) {
      setStatus('Enter the email address or phone number of your account.', 'error');
      address.input.focus();
      return;
    }
    const body = value.includes('@') ? { email: value } : { phone: value.replace(/[\s()-]/g, '') };
    void (async () => {
      try {
        const sent = await busy('Sending a code…', () => context.api.sendSignInCode(body));
        showCodeEntry(context, `We sent a code to ${sent.sent_to}`, 'Sign in', async (code) => {
          saveSignIn(context, await context.api.verifySignInCode(sent.code_request, code));
          showAddPasskey(context);
        });
      } catch (error) {
        setStatus(errorMessage(error), 'error');
      }
    })();
  });
  showStep('code-sign-in', 'Sign in with a one-time code', form, backButton(context));
}

/** A code input and its submit button; `submit` throws the API's error to show it and stay. */
function showCodeEntry(context: Context, heading: string, submitLabel: string, submit: (code: string) => Promise<void>, resend?: () => void): void {
  const code = field('6-digit code', 'code-input', { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: '6', required: true }, 'It expires in 10 minutes. Never share it.');
  const form = h('form', { novalidate: true }, code.wrapper, h('button', { type: 'submit', class: 'button primary', 'data-testid': 'submit-code' }, submitLabel));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = code.input.value.replace(/\s/g, '');
    if (!/^[0-9]{6}$/.test(value)) {
      code.input.setAttribute('aria-invalid', 'true');
      setStatus('The code has 6 digits.', 'error');
      code.input.focus();
      return;
    }
    void (async () => {
      try {
        await busy('Checking the code…', () => submit(value));
      } catch (error) {
        code.input.setAttribute('aria-invalid', 'true');
        setStatus(errorMessage(error), 'error');
        code.input.select();
      }
    })();
  });
  showStep('code-entry', heading, form, resend ? button('Send a new code', 'resend-code', resend, 'link') : null, backButton(context));
}

/**
 * After a sign-in with a one-time code. A session a code opened through a merchant's key (as the frame's
 * is) cannot add a passkey: the merchant's page may hold its token, so the API refuses it
 * (`buyer_session_merchant_bound`). The buyer adds one in the Micropay wallet, signed in there.
 */
function showAddPasskey(context: Context): void {
  showStep(
    'add-passkey-offer',
    'Add a passkey in your wallet',
    h('p', {}, 'Next time, pay with your fingerprint, face or screen lock instead of a code: sign in to your Micropay wallet and add a passkey under Devices.'),
    h('a', { href: '/wallet/devices', class: 'button secondary', 'data-testid': 'open-wallet', target: '_blank', rel: 'noopener' }, 'Open my wallet'),
    button('Continue to pay', 'skip-passkey', () => void loadAndShow(context), 'link'),
  );
}

async function signOut(context: Context): Promise<void> {
  try {
    await context.api.signOut();
  } catch {
    // The session ends on this device whatever the server answered.
  }
  context.sessions.saveSession(null);
  await loadAndShow(context);
  setStatus('Signed out.');
}

// ---- Paying --------------------------------------------------------------------------------

async function pay(context: Context): Promise<void> {
  let result: CheckoutResult;
  try {
    result = await busy('Paying…', () => context.api.confirm(deviceInfo(), undefined, context.pointsToRedeem));
  } catch (error) {
    if (error instanceof CheckoutApiError && error.code === 'buyer_session_required') {
      await loadAndShow(context);
      setStatus('Please sign in again.', 'error');
      return;
    }
    setStatus(errorMessage(error), 'error');
    return;
  }
  await handleResult(context, result);
}

async function handleResult(context: Context, result: CheckoutResult): Promise<void> {
  if (context.view) context.view = { ...context.view, payment: result.payment };
  if (result.status === 'requires_action' && result.next_action?.type === 'passkey') {
    await confirmWithPasskey(context);
    return;
  }
  if (result.status === 'requires_payment_method' && result.next_action?.type === 'top_up') {
    const action = result.next_action as { minimum: number | string; suggested: number | string };
    showTopUp(context, toMinorUnits(action.minimum), toMinorUnits(action.suggested));
    return;
  }
  showResult(context, result);
}

function showResult(context: Context, result: CheckoutResult): void {
  const payment = result.payment;
  const payee = context.view?.payee.name ?? 'the merchant';
  const amount = formatAmount(payment.amount, payment.currency);
  if (result.status === 'succeeded') {
    showStep('result-succeeded', 'Paid', h('p', { class: 'success' }, `You paid ${amount} to ${payee}.`));
    setStatus(`Paid ${amount}.`, 'success');
    announce(context, 'succeeded', payment);
    return;
  }
  if (result.status === 'processing') {
    const message = result.message ?? 'Your payment is being checked by our team. You will hear from the merchant soon.';
    showStep('result-processing', 'Your payment is being checked', h('p', { 'data-testid': 'result-message' }, message), supportLink(result.support, payment.id));
    announce(context, 'processing', payment, message);
    return;
  }
  const message = result.message ?? 'This payment could not be completed.';
  showStep(
    'result-failed',
    'Payment not completed',
    h('p', { 'data-testid': 'result-message' }, message),
    /nothing was charged/i.test(message) ? null : h('p', {}, 'Nothing was charged.'),
    supportLink(result.support, payment.id),
  );
  // The live region says it in short; the step above has the whole message.
  setStatus('Payment not completed. Nothing was charged.', 'error');
  announce(context, 'failed', payment, message);
}

// ---- Step-up: passkey (or Secure Payment Confirmation), then a one-time code ------------------

async function confirmWithPasskey(context: Context): Promise<void> {
  const payee = context.view!.payee.name;
  showStep(
    'challenge',
    'Confirm it’s you',
    h('p', {}, `Confirm ${amountOf(context)} to ${payee} with your passkey.`),
    button('Confirm with passkey', 'confirm-passkey', () => void runPasskeyConfirmation(context)),
    button('Send me a code instead', 'send-code', () => void confirmWithCode(context), 'link'),
  );
  await runPasskeyConfirmation(context);
}

async function runPasskeyConfirmation(context: Context): Promise<void> {
  let result: CheckoutResult;
  try {
    result = await busy('Waiting for your passkey…', async () => {
      const challenge = await context.api.authentication();
      const assertion = await paymentAssertion(challenge, context.allowSpc);
      return context.api.authenticateWithPasskey(challenge.challenge, assertion.credential);
    });
  } catch (error) {
    const code = error instanceof CheckoutApiError ? error.code : null;
    const message =
      code === 'authentication_failed'
        ? 'Your passkey could not confirm this payment. Try again, or get a code instead. Nothing was charged.'
        : code === 'challenge_expired'
          ? 'The confirmation took too long. Try again.'
          : errorMessage(error);
    setStatus(message, 'error');
    return;
  }
  await handleResult(context, result);
}

async function confirmWithCode(context: Context): Promise<void> {
  try {
    const sent = await busy('Sending a code…', () => context.api.sendPaymentCode());
    showCodeEntry(
      context,
      `Enter the code sent to ${sent.sent_to}`,
      `Pay ${amountOf(context)}`,
      async (code) => {
        const result = await context.api.authenticateWithCode(sent.code_request, code);
        await handleResult(context, result);
      },
      () => void confirmWithCode(context),
    );
  } catch (error) {
    setStatus(errorMessage(error), 'error');
  }
}

// ---- Inline top-up (with the card's 3-D Secure step) ----------------------------------------

function showTopUp(context: Context, minimum: bigint, suggested: bigint): void {
  const view = context.view!;
  const currency = view.payment.currency;
  const savedCard = view.buyer?.payment_methods.find((method): method is Extract<PaymentMethod, { type: 'card' }> => method.type === 'card');
  const amount = field(`Top-up amount (${currency})`, 'topup-amount', { type: 'text', inputmode: 'decimal', required: true, value: toMajorDecimal(suggested, currency) }, `At least ${formatAmount(minimum, currency)}.`);
  const number = field('Card number', 'card-number', { type: 'text', inputmode: 'numeric', autocomplete: 'cc-number', required: true }, 'Test mode: 4242 4242 4242 4242, or 4000 0000 0000 3220 for 3-D Secure.');
  const expiry = field('Expiry (MM/YY)', 'card-expiry', { type: 'text', inputmode: 'numeric', autocomplete: 'cc-exp', placeholder: 'MM/YY', required: true });
  const cvc = field('Security code', 'card-cvc', { type: 'text', inputmode: 'numeric', autocomplete: 'cc-csc', maxlength: '4', required: true });
  const cardFields = h('fieldset', { class: 'card-fields' }, h('legend', {}, 'New card'), number.wrapper, h('div', { class: 'row' }, expiry.wrapper, cvc.wrapper));
  let useSaved = Boolean(savedCard);
  const choice = savedCard
    ? h(
        'fieldset',
        { class: 'choice' },
        h('legend', {}, 'Pay the top-up with'),
        h('label', {}, h('input', { type: 'radio', name: 'source', value: 'saved', checked: true, 'data-testid': 'topup-saved-card', onchange: () => toggle(true) }), ` ${savedCard.brand} •••• ${savedCard.last4}`),
        h('label', {}, h('input', { type: 'radio', name: 'source', value: 'new', 'data-testid': 'topup-new-card', onchange: () => toggle(false) }), ' A new card'),
      )
    : null;
  function toggle(saved: boolean): void {
    useSaved = saved;
    cardFields.hidden = saved;
  }
  toggle(useSaved);
  let idempotencyKey: string | null = null;
  const form = h('form', { novalidate: true }, amount.wrapper, choice, cardFields, h('button', { type: 'submit', class: 'button primary', 'data-testid': 'topup-submit' }, 'Top up and pay'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const minor = parseMajorAmount(amount.input.value, currency);
    if (minor === null || minor < minimum) {
      amount.input.setAttribute('aria-invalid', 'true');
      setStatus(`Enter an amount of at least ${formatAmount(minimum, currency)}.`, 'error');
      amount.input.focus();
      return;
    }
    amount.input.removeAttribute('aria-invalid');
    let source: { card?: Record<string, unknown>; payment_method?: string };
    if (useSaved && savedCard) {
      source = { payment_method: savedCard.id };
    } else {
      const expiryMatch = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(expiry.input.value);
      const cardNumber = number.input.value.replace(/[\s-]/g, '');
      if (!/^[0-9]{12,19}$/.test(cardNumber)) return invalid(number.input, 'Enter the card number.');
      if (!expiryMatch) return invalid(expiry.input, 'Enter the expiry date as MM/YY.');
      if (!/^[0-9]{3,4}$/.test(cvc.input.value.trim())) return invalid(cvc.input, 'Enter the 3- or 4-digit security code.');
      const year = Number(expiryMatch[2]);
      source = {
        card: { number: cardNumber, exp_month: Number(expiryMatch[1]), exp_year: year < 100 ? 2000 + year : year, cvc: cvc.input.value.trim() },
      };
    }
    idempotencyKey ??= crypto.randomUUID();
    const key = idempotencyKey;
    void (async () => {
      let topUp: TopUp;
      try {
        topUp = await busy('Topping up your wallet…', () => context.api.createTopUp({ amount: Number(minor), ...source }, key));
      } catch (error) {
        // A lost answer keeps the key, so sending again cannot charge twice; an API refusal does not.
        if (error instanceof CheckoutApiError) idempotencyKey = null;
        setStatus(errorMessage(error), 'error');
        return;
      }
      idempotencyKey = null;
      await afterTopUp(context, topUp, () => showTopUp(context, minimum, suggested));
    })();
  });
  const wallet = view.buyer ? formatAmount(view.buyer.wallet.available, view.buyer.wallet.currency) : null;
  showStep(
    'top-up',
    'Top up your wallet',
    h('p', {}, wallet ? `Your wallet has ${wallet}; this payment is ${amountOf(context)}.` : `This payment is ${amountOf(context)}.`),
    form,
    backButton(context),
  );
}

function invalid(input: HTMLInputElement, message: string): void {
  input.setAttribute('aria-invalid', 'true');
  setStatus(message, 'error');
  input.focus();
}

async function afterTopUp(context: Context, topUp: TopUp, retry: () => void): Promise<void> {
  if (topUp.status === 'succeeded') {
    setStatus('Wallet topped up. Paying…', 'success');
    await pay(context);
    return;
  }
  if (topUp.status === 'requires_action' && topUp.next_action?.url) {
    showThreeDSecure(context, topUp, retry);
    return;
  }
  retry();
  setStatus(topUp.failure_message ?? 'The card was declined. Nothing was charged.', 'error');
}

function showThreeDSecure(context: Context, topUp: TopUp, retry: () => void): void {
  const url = topUp.next_action!.url!;
  const popup = openThreeDSecure(url);
  let settled = false;
  let checking = false;
  const startedAt = Date.now();
  const check = async (byBuyer: boolean): Promise<void> => {
    if (settled || checking) return;
    checking = true;
    try {
      const confirmed = await context.api.confirmTopUp(topUp.id);
      settled = true;
      popup?.close();
      await afterTopUp(context, confirmed, retry);
    } catch (error) {
      if (error instanceof CheckoutApiError && error.code === 'three_d_secure_incomplete') {
        if (byBuyer) setStatus('Your bank has not confirmed yet. Finish in the verification window.', 'error');
      } else if (error instanceof CheckoutApiError && error.code === 'top_up_unexpected_state') {
        // Another check already finished the top-up: go on with the payment.
        settled = true;
        popup?.close();
        await pay(context);
      } else if (byBuyer || error instanceof CheckoutApiError) {
        settled = true;
        retry();
        setStatus(errorMessage(error), 'error');
      }
    } finally {
      checking = false;
    }
  };
  const poll = () => {
    if (settled) return;
    if (Date.now() - startedAt > THREE_DS_WAIT_MS_MAX) return;
    void check(false).finally(() => window.setTimeout(poll, THREE_DS_POLL_INTERVAL_MS));
  };
  showStep(
    'three-d-secure',
    'Confirm the top-up with your bank',
    h('p', {}, popup ? 'Your bank opened a window to confirm the top-up. Finish there; this page continues by itself.' : 'Open the verification page of your bank to confirm the top-up.'),
    h('a', { href: url, target: THREE_DS_WINDOW, rel: 'noopener noreferrer', class: 'button secondary', 'data-testid': 'open-3ds' }, 'Open the verification page'),
    button('I have confirmed', 'three-d-secure-done', () => void check(true)),
    button('Cancel', 'back', () => {
      settled = true;
      popup?.close();
      retry();
    }, 'link'),
  );
  window.setTimeout(poll, THREE_DS_POLL_INTERVAL_MS);
}

// ---- Start ---------------------------------------------------------------------------------

function start(): void {
  const params = new URLSearchParams(location.search);
  const publishableKey = params.get('pk');
  const paymentId = params.get('payment');
  const clientSecret = params.get('client_secret');
  if (!publishableKey || !paymentId || !clientSecret) {
    showStep('step-error', 'This checkout is incomplete', h('p', {}, 'The page that opened it did not say which payment to show.'));
    return;
  }
  const mode = modeOf(publishableKey);
  if (mode === 'test') document.getElementById('mode')!.hidden = false;
  const sessions = createSessionStore(mode);
  const context: Context = {
    api: createCheckoutApi({ publishableKey, paymentId, clientSecret, sessions }),
    sessions,
    view: null,
    allowSpc: params.get('spc') !== 'off',
    parentOrigin: embeddingOrigin(params),
    outcome: null,
    pointsToRedeem: 0,
  };
  window.addEventListener('message', (event) => {
    if (!context.parentOrigin || event.origin !== context.parentOrigin || event.source !== window.parent) return;
    if (isPageMessage(event.data) && context.outcome) post(context, context.outcome);
  });
  watchSize(context);
  post(context, { source: MESSAGE_SOURCE, type: 'ready' });
  void loadAndShow(context);
}

start();
