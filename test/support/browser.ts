// Browser tests: a test API listening at http://localhost:<port> (WebAuthn refuses IP addresses as
// relying party ids, so PUBLIC_URL is localhost), Debian's Chromium driven by playwright-core, and a
// CDP WebAuthn virtual authenticator (a platform authenticator with resident keys and user
// verification) so that passkey ceremonies run without a person. Screenshots go to test-results/.
//
//   const server = await startBrowserApi('pglite', { demo: true });
//   const browser = await openBrowser();
//   const tab = await browser.open(`${server.url}/demo/news`);
//   ...
//   await tab.setUserVerified(false);          // the next ceremony fails user verification
//   await tab.screenshot('news-unlocked');     // test-results/news-unlocked.png
//   await browser.close(); await server.close();
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Frame, type Page } from 'playwright-core';
import type { RuntimeOptions } from '../../src/server/runtime.ts';
import type { StoreKind } from '../../src/store/database.ts';
import { seedDemoMerchants, type DemoKeys } from '../../src/server/bootstrap.ts';
import { mountDemo, type MountedDemo } from '../../src/demo/wiring.ts';
import { checkoutBuilt } from '../../src/server/web-assets.ts';
import { startTestApi, type TestApi } from './api.ts';

/** axe-core's source, for `injectAxe`. */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Loads axe-core into a page or frame for an accessibility check. Evaluated through the DevTools
 * protocol rather than added as a <script> tag: the pages' Content-Security-Policy (`script-src 'self'`,
 * docs/operations.md) refuses an inline script, as it should; DevTools evaluation is not subject to it.
 */
export async function injectAxe(target: Page | Frame): Promise<void> {
  await target.evaluate(AXE_SOURCE);
}

/**
 * Closes a popup the test opened (the bank's 3-D Secure page) without letting a close that never
 * settles hang the test: Playwright's page.close() has no timeout, and once in a few runs a popup whose
 * opener was cut does not report its close. What the tests assert comes after, through the API.
 */
export async function closePopup(popup: Page, waitMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    popup.close().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
    }),
  ]);
  clearTimeout(timer);
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'];
export const SCREENSHOT_DIR = join(process.cwd(), 'test-results');

/** Why browser tests cannot run here (for `test(..., { skip })`), or false when they can. */
export function browserTestsSkipped(): string | false {
  if (!existsSync(CHROMIUM_PATH)) return `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (!checkoutBuilt()) return 'the checkout is not built (npm run build:web)';
  return false;
}

/** The first port the kernel hands out for outgoing connections (ports below it are never taken by
 * a connect() of another test process while this one starts). */
function ephemeralPortsStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * A port for a server that must know its URL before it listens (PUBLIC_URL, the passkeys' origin),
 * held by a placeholder listener until `release()` just before the real listen. It is picked below the
 * ephemeral range: a port found with listen(0) and closed at once was once taken during the seconds
 * the runtime took to start (EADDRINUSE in CI), by another test process's outgoing connection.
 */
async function reservePort(): Promise<{ port: number; release(): Promise<void> }> {
  const high = ephemeralPortsStart();
  const low = high - 10_000;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = low + Math.floor(Math.random() * (high - low));
    const holder = createServer();
    const held = await new Promise<boolean>((resolve) => {
      holder.once('error', () => resolve(false));
      holder.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (held) return { port, release: () => new Promise<void>((resolve) => holder.close(() => resolve())) };
  }
  throw new Error(`no free port between ${low} and ${high}`);
}

export interface BrowserApi {
  api: TestApi;
  /** http://localhost:<port>, the origin and relying party pages and passkeys use. */
  url: string;
  port: number;
  /** The demo storefronts' merchants and keys, when started with `demo: true`. */
  demoKeys: DemoKeys | null;
  demo: MountedDemo | null;
  close(): Promise<void>;
}

/**
 * A test API listening on localhost with PUBLIC_URL set to it. `demo: true` seeds the demo merchants,
 * mounts the storefronts and registers their webhook endpoints (the webhook worker runs then, unless
 * `workers: false` is passed, so that signed webhooks arrive).
 */
export async function startBrowserApi(
  kind: StoreKind,
  options: RuntimeOptions & { env?: Record<string, string>; demo?: boolean } = {},
): Promise<BrowserApi> {
  const { demo: withDemo = false, env = {}, ...runtimeOptions } = options;
  const reserved = await reservePort();
  const { port } = reserved;
  const url = `http://localhost:${port}`;
  let api: TestApi;
  try {
    api = await startTestApi(kind, {
      ...(withDemo ? { workers: true } : {}),
      ...runtimeOptions,
      env: { PORT: String(port), PUBLIC_URL: url, WEBHOOK_POLL_INTERVAL_MS: '200', ...env },
    });
  } catch (error) {
    await reserved.release();
    throw error;
  }
  try {
    const demoKeys = withDemo ? await seedDemoMerchants(api.runtime) : null;
    const demo = demoKeys ? await mountDemo(api.app, api.runtime, demoKeys, { stateFile: null }) : null;
    await reserved.release();
    await api.app.listen({ port, host: '127.0.0.1' });
    await demo?.start(api.app);
    if (demo && !demo.service.started()) throw new Error('the demo storefronts did not start (see the log)');
    return { api, url, port, demoKeys, demo, close: () => api.close() };
  } catch (error) {
    await reserved.release();
    await api.close();
    throw error;
  }
}

export interface Tab {
  page: Page;
  cdp: CDPSession;
  /** The virtual authenticator's id (null when opened with `authenticator: false`). */
  authenticatorId: string | null;
  /** Whether the authenticator reports user verification (false: the fingerprint "fails"). */
  setUserVerified(verified: boolean): Promise<void>;
  /** How Secure Payment Confirmation's browser dialog answers (`autoAccept` by default). */
  setSpcMode(mode: 'none' | 'autoAccept' | 'autoChooseToAuthAnotherWay' | 'autoReject' | 'autoOptOut'): Promise<void>;
  /** A second virtual authenticator on the tab (a USB security key): its id. Ceremonies go to whichever answers first. */
  addAuthenticator(): Promise<string>;
  /** Whether an authenticator answers by itself (user presence); one that does not is left out of ceremonies. */
  setPresence(authenticatorId: string, present: boolean): Promise<void>;
  /** Removes a virtual authenticator with its passkeys. */
  removeAuthenticator(authenticatorId: string): Promise<void>;
  /** The passkeys the (first, unless named) virtual authenticator holds. */
  credentials(otherAuthenticatorId?: string): Promise<Array<{ credentialId: string; isResidentCredential: boolean; signCount: number; userHandle?: string }>>;
  /** Saves test-results/<name>.png (full page) and returns its path. */
  screenshot(name: string): Promise<string>;
  /** What the browser refused under a Content-Security-Policy so far, in the page or its frames. */
  cspViolations(): string[];
  close(): Promise<void>;
}

/** A CTAP2 virtual authenticator with resident keys and user verification that answers by itself: its id. */
async function addAuthenticator(cdp: CDPSession, transport: 'internal' | 'usb'): Promise<string> {
  const added = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport, hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return added.authenticatorId;
}

export interface OpenBrowser {
  browser: Browser;
  context: BrowserContext;
  /** A new tab at `url`, with a virtual authenticator attached unless `authenticator: false`. */
  open(url: string, options?: { authenticator?: boolean; viewport?: { width: number; height: number } }): Promise<Tab>;
  close(): Promise<void>;
}

export async function openBrowser(options: { headless?: boolean } = {}): Promise<OpenBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: options.headless ?? true });
  const context = await browser.newContext({ viewport: { width: 1024, height: 900 }, locale: 'en-US', timezoneId: 'Europe/Paris' });
  return {
    browser,
    context,
    async open(url, openOptions = {}) {
      const page = await context.newPage();
      if (openOptions.viewport) await page.setViewportSize(openOptions.viewport);
      const cdp = await context.newCDPSession(page);
      let authenticatorId: string | null = null;
      if (openOptions.authenticator !== false) {
        await cdp.send('WebAuthn.enable', { enableUI: false });
        authenticatorId = await addAuthenticator(cdp, 'internal');
        await cdp.send('Page.setSPCTransactionMode', { mode: 'autoAccept' }).catch(() => undefined);
      }
      const violations: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) violations.push(message.text());
      });
      await page.goto(url);
      const tab: Tab = {
        page,
        cdp,
        authenticatorId,
        async setUserVerified(verified) {
          if (!authenticatorId) throw new Error('this tab has no virtual authenticator');
          await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: verified });
        },
        async setSpcMode(mode) {
          await cdp.send('Page.setSPCTransactionMode', { mode });
        },
        addAuthenticator: () => addAuthenticator(cdp, 'usb'),
        async setPresence(id, present) {
          await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: id, enabled: present });
        },
        async removeAuthenticator(id) {
          await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: id });
        },
        async credentials(otherAuthenticatorId) {
          const id = otherAuthenticatorId ?? authenticatorId;
          if (!id) return [];
          return (await cdp.send('WebAuthn.getCredentials', { authenticatorId: id })).credentials;
        },
        cspViolations: () => [...violations],
        async screenshot(name) {
          mkdirSync(SCREENSHOT_DIR, { recursive: true });
          const path = join(SCREENSHOT_DIR, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
          await page.screenshot({ path, fullPage: true });
          return path;
        },
        async close() {
          await cdp.detach().catch(() => undefined);
          await page.close();
        },
      };
      return tab;
    },
    async close() {
      await context.close().catch(() => undefined);
      await browser.close();
    },
  };
}
