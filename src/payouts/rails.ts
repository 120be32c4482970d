// Which bank rail a payout goes to. Test-mode payouts never reach a real bank: they go to the sandbox
// bank at BANK_SANDBOX_URL, or to one started in this process on first use. Live payouts go to
// BANK_RAIL_URL and nowhere else: without it, in every mode, they have no rail (payouts answer
// `payouts_unavailable` rather than hold money that cannot leave, or "pay" live money into a sandbox).
import type { Mode } from '../config/config.ts';
import { createBankConnector, type BankRail } from '../rails/bank.ts';
import { startBankSandbox, type BankSandbox } from '../rails/bank-sandbox.ts';

export interface BankRailOptions {
  /** Does not change where live payouts go: only BANK_RAIL_URL takes them, in every mode. */
  mode: Mode;
  liveUrl: string | undefined;
  sandboxUrl: string | undefined;
  timeoutMs: number;
  retriesMax: number;
  sandboxSettlementDelayMs: number;
}

export interface BankRails {
  /** Whether payouts of this mode have somewhere to go. */
  available(livemode: boolean): boolean;
  /** The longest one request to a rail may take: every attempt timing out, and the waits between them.
   * The dispatcher's lease on a payout covers it, so that a payout is never given to a second dispatcher
   * while a request about it is still under way. */
  readonly requestBudgetMs: number;
  /** The rail for payouts of this mode (starting the in-process sandbox if it is the one), or null. */
  forMode(livemode: boolean): Promise<BankRail | null>;
  close(): Promise<void>;
}

export function createBankRails(options: BankRailOptions): BankRails {
  const connector = (baseUrl: string) => createBankConnector({ baseUrl, timeoutMs: options.timeoutMs, retriesMax: options.retriesMax });
  const live = options.liveUrl ? connector(options.liveUrl) : null;
  const sharedSandbox = options.sandboxUrl ? connector(options.sandboxUrl) : null;
  let inProcess: Promise<{ sandbox: BankSandbox; rail: BankRail }> | null = null;
  let closed = false;

  function sandboxRail(): Promise<BankRail> {
    if (sharedSandbox) return Promise.resolve(sharedSandbox);
    inProcess ??= startBankSandbox({
      settlementDelayMs: options.sandboxSettlementDelayMs,
      // Later than the connector waits, so the sandbox's time-out-once account times out once.
      slowResponseMs: options.timeoutMs * 2,
    }).then((sandbox) => ({ sandbox, rail: connector(sandbox.url) }));
    return inProcess.then(({ rail }) => rail);
  }

  return {
    // The connector waits at most 2 s before a retry (src/rails/bank.ts).
    requestBudgetMs: options.timeoutMs * (options.retriesMax + 1) + options.retriesMax * 2_000,
    available: (livemode) => !closed && (!livemode || live !== null),
    async forMode(livemode) {
      if (closed) return null;
      if (livemode) return live;
      return sandboxRail();
    },
    async close() {
      closed = true;
      if (inProcess) await (await inProcess).sandbox.close();
    },
  };
}
