// <micropay-checkout publishable-key="pk_test_..." payment="pay_..." client-secret="pay_..._secret_...">
//
// The script merchants include (`<script src="https://<micropay>/checkout/checkout.js" async>`). It
// opens the checkout frame on Micropay's own origin (read from this script's address), sizes the
// iframe to its content and turns the frame's messages into DOM events on the element:
// `micropay:succeeded`, `micropay:failed`, `micropay:processing`, each with `detail.payment`.
// Card data, passkeys and the buyer's session stay inside the frame; the page only learns the outcome.
import { isFrameMessage, MESSAGE_SOURCE, type FrameMessage, type PageMessage } from '../shared/protocol.ts';

const ELEMENT_NAME = 'micropay-checkout';
const FRAME_PATH = '/checkout/frame.html';
const FRAME_HEIGHT_MIN_PX = 120;
const FRAME_HEIGHT_MAX_PX = 4000;
/** Every feature the frame needs: passkey sign-in and sign-up, and Secure Payment Confirmation. */
const FRAME_ALLOW = 'publickey-credentials-get *; publickey-credentials-create *; payment *';

/** The Micropay origin: where this script was loaded from (captured while it runs). */
const scriptOrigin: string = (() => {
  const current = document.currentScript as HTMLScriptElement | null;
  const source = current?.src || document.querySelector<HTMLScriptElement>('script[src*="/checkout/checkout.js"]')?.src;
  return source ? new URL(source, location.href).origin : location.origin;
})();

export class MicropayCheckoutElement extends HTMLElement {
  static observedAttributes = ['publishable-key', 'payment', 'client-secret', 'secure-payment-confirmation'];

  private frame: HTMLIFrameElement | null = null;
  private readonly onMessage = (event: MessageEvent) => this.handleMessage(event);

  /** The origin the frame is served from (Micropay's), e.g. for a Content-Security-Policy. */
  get micropayOrigin(): string {
    return this.getAttribute('micropay-origin') ?? scriptOrigin;
  }

  connectedCallback(): void {
    window.addEventListener('message', this.onMessage);
    this.render();
  }

  disconnectedCallback(): void {
    window.removeEventListener('message', this.onMessage);
    this.frame?.remove();
    this.frame = null;
  }

  attributeChangedCallback(_name: string, previous: string | null, next: string | null): void {
    if (previous !== next && this.isConnected) this.render();
  }

  /** Asks the frame to announce the payment's state again (a `micropay:*` event follows if it is final). */
  requestState(): void {
    const message: PageMessage = { source: MESSAGE_SOURCE, type: 'state' };
    this.frame?.contentWindow?.postMessage(message, this.micropayOrigin);
  }

  private render(): void {
    const publishableKey = this.getAttribute('publishable-key');
    const payment = this.getAttribute('payment');
    const clientSecret = this.getAttribute('client-secret');
    if (!publishableKey || !payment || !clientSecret) return;
    const url = new URL(FRAME_PATH, this.micropayOrigin);
    url.searchParams.set('pk', publishableKey);
    url.searchParams.set('payment', payment);
    url.searchParams.set('client_secret', clientSecret);
    url.searchParams.set('origin', location.origin);
    if (this.getAttribute('secure-payment-confirmation') === 'off') url.searchParams.set('spc', 'off');
    if (this.frame?.src === url.href) return;
    this.frame?.remove();
    const frame = document.createElement('iframe');
    frame.src = url.href;
    frame.title = 'Micropay checkout';
    frame.allow = FRAME_ALLOW;
    frame.setAttribute('data-testid', 'micropay-frame');
    frame.style.cssText = `display:block;width:100%;max-width:480px;border:0;height:${FRAME_HEIGHT_MIN_PX}px;color-scheme:normal;`;
    this.frame = frame;
    this.replaceChildren(frame);
  }

  private handleMessage(event: MessageEvent): void {
    // Only the frame this element opened, on Micropay's origin, may speak for the checkout.
    if (!this.frame || event.source !== this.frame.contentWindow) return;
    if (event.origin !== this.micropayOrigin) return;
    if (!isFrameMessage(event.data)) return;
    const message: FrameMessage = event.data;
    if (message.type === 'resize') {
      const height = Math.min(FRAME_HEIGHT_MAX_PX, Math.max(FRAME_HEIGHT_MIN_PX, Math.ceil(Number(message.height) || 0)));
      this.frame.style.height = `${height}px`;
      return;
    }
    if (message.type === 'ready') {
      this.dispatchEvent(new CustomEvent('micropay:ready', { bubbles: true, composed: true }));
      return;
    }
    this.dispatchEvent(
      new CustomEvent(`micropay:${message.type}`, {
        bubbles: true,
        composed: true,
        detail: { payment: message.payment, message: message.message },
      }),
    );
  }
}

if (!customElements.get(ELEMENT_NAME)) customElements.define(ELEMENT_NAME, MicropayCheckoutElement);

declare global {
  interface HTMLElementTagNameMap {
    'micropay-checkout': MicropayCheckoutElement;
  }
}
