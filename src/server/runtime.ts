// The composition root: opens the store, migrates it, and wires the services and workers from the
// configuration. Everything that runs Micropay (server, CLI, tests, benchmarks) starts here.
import type { Config } from '../config/config.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { startExpiryWorker, type ExpiryWorker } from '../ledger/expiry-worker.ts';
import { createLedgerService, type LedgerService } from '../ledger/service.ts';
import { openDatabase, type Database } from '../store/database.ts';
import { assertMigrated, migrate } from '../store/migrate.ts';
import { createAuthService, type AuthService } from '../auth/service.ts';
import { createIdempotencyStore, IDEMPOTENCY_ANSWERS_WRITER, writeIdempotencyAnswers, type IdempotencyStore } from '../api/idempotency.ts';
import { createBooks, type Books } from '../books/service.ts';
import { createCustomerService, type CustomerService } from '../customers/service.ts';
import { EVENTS_WRITER, writeEvents } from '../events/outbox.ts';
import { createMerchantService, type MerchantService } from '../merchants/service.ts';
import { createPaymentService, type PaymentService } from '../payments/service.ts';
import { PAYMENTS_WRITER, writePayments } from '../payments/store.ts';
import { clientSecretsFromKeyring, type ClientSecrets } from '../payments/client-secret.ts';
import { createCheckoutService, type CheckoutService } from '../checkout/service.ts';
import { createCheckoutOrigins, type CheckoutOrigins } from '../checkout/origins.ts';
import { CHECKOUT_AUTHENTICATIONS_WRITER, writeAuthentications } from '../checkout/store.ts';
import { createAllowAllRiskHook, RISK_DECISIONS_WRITER, writeRiskDecisions, type RiskHook } from '../risk/hook.ts';
import { createMemoryCounters, type RiskCounters } from '../risk/counters.ts';
import { createRedisCounters } from '../risk/redis-counters.ts';
import { createRiskService, type RiskService } from '../risk/service.ts';
import { createReviewService, type ReviewService } from '../risk/reviews.ts';
import { RISK_LABELS_WRITER, RISK_REVIEWS_WRITER, writeLabels, writeReviews } from '../risk/store.ts';
import { runEach, startPeriodic, type PeriodicTask } from './periodic.ts';
import { createEventStore, type EventStore } from '../events/store.ts';
import type { WebhookService } from '../webhooks/service.ts';
import type { WebhookWorker } from '../webhooks/worker.ts';
import { createWebhookServiceFromConfig, startWebhookWorkerFromConfig } from '../webhooks/wiring.ts';
import { createPayoutService, type PayoutService } from '../payouts/service.ts';
import { PAYOUT_INSERTS_WRITER, PAYOUT_UPDATES_WRITER, writePayoutInserts, writePayoutUpdates } from '../payouts/store.ts';
import { createBankRails } from '../payouts/rails.ts';
import { createRefundService, type RefundService } from '../refunds/service.ts';
import { AUTOMATIC_REFUNDS_GUARD_WRITER, guardAutomaticRefunds, REFUNDS_WRITER, writeRefunds } from '../refunds/store.ts';
import { createDisputeService, type DisputeService } from '../disputes/service.ts';
import { DISPUTES_WRITER, writeDisputes } from '../disputes/store.ts';
import { openCardRails, type CardRails } from '../rails/card.ts';
import type { TopUpService } from '../top-ups/service.ts';
import { TOP_UPS_WRITER, writeTopUps } from '../top-ups/store.ts';
import { createTopUpServiceFromConfig, openVaultKeyring } from '../top-ups/wiring.ts';
import type { Keyring } from '../vault/crypto.ts';
import { createFieldSealer } from '../vault/fields.ts';
import type { BuyerIdentityService } from '../buyers/service.ts';
import { createBuyerIdentityFromConfig } from '../buyers/wiring.ts';
import type { MessageOutbox } from '../messages/gateway.ts';
import { createSupportService, type SupportService } from '../support/service.ts';
import { createReceiptService, type ReceiptService } from '../receipts/service.ts';
import { receiptUrlKeyOf } from '../receipts/keys.ts';
import { openReceiptSigner, type ReceiptSigner } from '../receipts/signing-keys.ts';
import { createLoyaltyService, type LoyaltyService } from '../loyalty/service.ts';
import { createStaffService, type StaffService } from '../staff/service.ts';
import { LOYALTY_CLAWBACKS_WRITER, LOYALTY_EARNINGS_WRITER, LOYALTY_SPEND_GUARD_WRITER, guardSpends, writeBadgeRevocations, writeBadges, writeClawbacks, writeEarnings } from '../loyalty/store.ts';
import { LOYALTY_BADGE_REVOCATIONS_WRITER, LOYALTY_BADGES_WRITER } from '../loyalty/badges.ts';

const MAINTENANCE_BATCH_MAX = 500;
const PAYOUT_DISPATCH_BATCH_MAX = 100;
/** How often a process re-reads the receipt signing key generations (docs/api/receipts.md, "Rotating the signing key"). */
export const RECEIPT_KEYS_REFRESH_MS = 60_000;

export interface Services {
  auth: AuthService;
  idempotency: IdempotencyStore;
  merchants: MerchantService;
  books: Books;
  customers: CustomerService;
  payments: PaymentService;
  /** Client secrets of payments (for the embeddable checkout). */
  clientSecrets: ClientSecrets;
  risk: RiskHook;
  /** The risk engine with its rules, lists, models and reviews (present even when a test replaces the hook). */
  riskEngine: RiskService;
  riskReviews: ReviewService;
  events: EventStore;
  webhooks: WebhookService;
  payouts: PayoutService;
  refunds: RefundService;
  disputes: DisputeService;
  topUps: TopUpService;
  /** The embeddable checkout's server side (docs/api/checkout.md). */
  checkout: CheckoutService;
  checkoutOrigins: CheckoutOrigins;
  /** Buyers' passkeys, sessions and one-time codes (docs/api/buyers.md). */
  buyerIdentity: BuyerIdentityService;
  /** The sandbox message gateway's outbox; null when MESSAGE_GATEWAY is not sandbox. */
  messageOutbox: MessageOutbox | null;
  /** Buyers' refund requests, disputes and support tickets from their purchases (docs/api/support.md). */
  support: SupportService;
  /** Signed receipts of succeeded payments, top-ups and refunds (docs/api/receipts.md). */
  receipts: ReceiptService;
  /** Which receipt signing key generation signs, and which the JWKS publishes (re-read every minute). */
  receiptSigner: ReceiptSigner;
  /** Loyalty programs and points (docs/loyalty.md). */
  loyalty: LoyaltyService;
  /** Merchants' and the operator's staff: invitations, passkeys, sessions and roles (docs/api/staff.md). */
  staff: StaffService;
}

export interface Runtime {
  config: Config;
  logger: Logger;
  db: Database;
  ledger: LedgerService;
  services: Services;
  /** The card processors by mode, and the card sandbox this process runs (tests drive it). */
  cards: CardRails;
  workers: { expiry: ExpiryWorker | null; maintenance: PeriodicTask | null; payouts: PeriodicTask | null; webhooks: WebhookWorker | null };
  close(): Promise<void>;
}

export interface RuntimeOptions {
  workers?: boolean;
  /** Warm the ledger's cache in the background (default true; the CLI's short-lived runtimes skip it). */
  warmLedger?: boolean;
  /** Apply the migrations the database lacks (default true: the server); false refuses such a database
   * instead (MigrationsPendingError), as the commands that work on existing data do. */
  migrate?: boolean;
  logger?: Logger;
  /** Replaces the allow-all risk hook (tests, and the risk engine). */
  risk?: RiskHook;
}

export async function openRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
  });
  let keyring: Keyring;
  try {
    if (options.migrate === false) await assertMigrated(db);
    else await migrate(db);
    // Before anything else opens: a vault that does not open (a missing or wrong master key) stops the
    // start here, with nothing left running.
    keyring = await openVaultKeyring(config, db, logger);
  } catch (error) {
    await db.close();
    throw error;
  }
  const ledger = createLedgerService({
    db,
    pipeline: {
      batchWeightMax: config.ledger.batchTransfersMax,
      batchesInFlightMax: config.ledger.batchesInFlightMax,
      queueWeightMax: config.ledger.queueTransfersMax,
    },
  });
  ledger.registerWriter(PAYMENTS_WRITER, writePayments);
  ledger.registerWriter(RISK_DECISIONS_WRITER, writeRiskDecisions);
  ledger.registerWriter(EVENTS_WRITER, writeEvents);
  ledger.registerWriter(IDEMPOTENCY_ANSWERS_WRITER, writeIdempotencyAnswers);
  ledger.registerWriter(PAYOUT_INSERTS_WRITER, writePayoutInserts);
  ledger.registerWriter(PAYOUT_UPDATES_WRITER, writePayoutUpdates);
  ledger.registerWriter(REFUNDS_WRITER, writeRefunds);
  ledger.registerWriter(AUTOMATIC_REFUNDS_GUARD_WRITER, guardAutomaticRefunds);
  ledger.registerWriter(DISPUTES_WRITER, writeDisputes);
  ledger.registerWriter(TOP_UPS_WRITER, writeTopUps);
  ledger.registerWriter(RISK_REVIEWS_WRITER, writeReviews);
  ledger.registerWriter(RISK_LABELS_WRITER, writeLabels);
  ledger.registerWriter(CHECKOUT_AUTHENTICATIONS_WRITER, writeAuthentications);
  ledger.registerWriter(LOYALTY_EARNINGS_WRITER, writeEarnings);
  ledger.registerWriter(LOYALTY_CLAWBACKS_WRITER, writeClawbacks);
  ledger.registerWriter(LOYALTY_BADGES_WRITER, writeBadges);
  ledger.registerWriter(LOYALTY_BADGE_REVOCATIONS_WRITER, writeBadgeRevocations);
  ledger.registerWriter(LOYALTY_SPEND_GUARD_WRITER, guardSpends);
  // In the background: the first requests after a start then find their accounts in the cache rather
  // than reading them under the ledger lock (docs/ledger.md, "Warming the cache").
  const warming = warmLedger(ledger, options.warmLedger === false ? 0 : config.ledger.warmAccounts, logger);
  const cards = await openCardRails(config);
  const counters: RiskCounters = config.risk.redisUrl ? createRedisCounters({ url: config.risk.redisUrl }) : createMemoryCounters();
  const riskEngine = await createRiskService({ db, counters, logger, reloadIntervalMs: config.risk.reloadIntervalMs, defaultRules: config.risk.defaultRules });
  const hook = options.risk ?? (config.risk.engine === 'on' ? riskEngine.hook : createAllowAllRiskHook());
  const receiptSigner = await openReceiptSigner(db, keyring.root, {
    refreshIntervalMs: RECEIPT_KEYS_REFRESH_MS,
    onRefreshError: (error) => logger.warn({ err: error }, 'receipts: the signing key generations could not be re-read; keeping the last ones'),
  });
  const services = createServices(config, db, ledger, hook, riskEngine, logger, cards, keyring, receiptSigner);
  const workersOn = options.workers !== false;
  const expiry = workersOn
    ? startExpiryWorker(ledger, { intervalMs: config.ledger.holdExpiryIntervalMs, batchMax: config.ledger.holdExpiryBatchMax, logger })
    : null;
  const maintenance = workersOn
    ? startPeriodic(
        'maintenance',
        config.maintenanceIntervalMs,
        () =>
          runEach(logger, {
            cancel_overdue_captures: () => services.payments.cancelOverdueCaptures(MAINTENANCE_BATCH_MAX),
            idempotency_sweep: () => services.idempotency.sweep(MAINTENANCE_BATCH_MAX),
            top_up_reconcile: () => services.topUps.reconcileStale(MAINTENANCE_BATCH_MAX),
            buyer_sweep: () => services.buyerIdentity.sweep(MAINTENANCE_BATCH_MAX),
            staff_sweep: () => services.staff.sweep(MAINTENANCE_BATCH_MAX),
            points_expiry: () => services.loyalty.expirePoints(new Date(), MAINTENANCE_BATCH_MAX),
          }),
        logger,
      )
    : null;
  const payoutWorker = workersOn
    ? startPeriodic(
        'payouts',
        config.payouts.workerIntervalMs,
        async () => (await services.payouts.runSchedule()) + (await services.payouts.dispatch(PAYOUT_DISPATCH_BATCH_MAX)),
        logger,
      )
    : null;
  const webhookWorker = workersOn ? startWebhookWorkerFromConfig(config, db, logger, keyring) : null;
  return {
    config,
    logger,
    db,
    ledger,
    services,
    cards,
    workers: { expiry, maintenance, payouts: payoutWorker, webhooks: webhookWorker },
    async close() {
      await webhookWorker?.stop();
      await maintenance?.stop();
      await payoutWorker?.stop();
      await services.payouts.close();
      await expiry?.stop();
      await cards.close();
      riskEngine.close();
      receiptSigner.close();
      await counters.close();
      await ledger.close();
      await warming;
      await db.close();
    },
  };
}

async function warmLedger(ledger: LedgerService, accountsMax: number, logger: Logger): Promise<void> {
  if (accountsMax === 0) return;
  try {
    const { accounts, ms } = await ledger.warm({ accountsMax });
    logger.info({ accounts, ms: Math.round(ms) }, 'ledger: cache warmed');
  } catch (error) {
    // Only the first batches are slower without it: they read their accounts under the lock.
    logger.warn({ err: error }, 'ledger: the cache could not be warmed; batches read their accounts as they meet them');
  }
}

function createServices(
  config: Config,
  db: Database,
  ledger: LedgerService,
  risk: RiskHook,
  riskEngine: RiskService,
  logger: Logger,
  cards: CardRails,
  keyring: Keyring,
  receiptSigner: ReceiptSigner,
): Services {
  const books = createBooks({ ledger });
  const merchants = createMerchantService({ db });
  const customers = createCustomerService({ db, books });
  const loyalty = createLoyaltyService({ db, ledger, books, customers, merchants });
  const payments = createPaymentService({
    db,
    ledger,
    books,
    merchants,
    customers,
    risk,
    captureWindowSeconds: config.payments.captureWindowSeconds,
    reviewHoldSeconds: config.payments.reviewHoldSeconds,
    loyalty,
  });
  const disputes = createDisputeService({ db, ledger, books, payments, holdSeconds: config.disputes.holdSeconds, loyalty });
  const refunds = createRefundService({ db, ledger, books, payments, risk, disputes, policy: config.refunds, loyalty });
  const payouts = createPayoutService({
    db,
    ledger,
    books,
    risk,
    rails: createBankRails({
      mode: config.mode,
      liveUrl: config.payouts.bankRailUrl,
      sandboxUrl: config.payouts.bankSandboxUrl,
      timeoutMs: config.payouts.bankRailTimeoutMs,
      retriesMax: config.payouts.bankRailRetriesMax,
      sandboxSettlementDelayMs: config.payouts.sandboxSettlementDelayMs,
    }),
    minimumDefaults: config.payouts.minimumDefaults,
    pollIntervalMs: config.payouts.pollIntervalMs,
    logger,
    sealer: createFieldSealer(keyring),
  });
  const buyers = createBuyerIdentityFromConfig(config, {
    db,
    keyring,
    // The error carries the provider's status and code only, never the address.
    onSignInCodeNotSent: (error) => logger.warn({ err: error }, 'buyers: a sign-in code was not delivered; the buyer can ask for a new one'),
    onNoticeNotSent: (error) => logger.warn({ err: error }, 'buyers: a passkey-added notice was not delivered'),
  });
  const clientSecrets = clientSecretsFromKeyring(keyring);
  const topUps = createTopUpServiceFromConfig(config, { db, ledger, books, customers, risk, cards, logger, keyring });
  const checkoutOrigins = createCheckoutOrigins({ db });
  const checkout = createCheckoutService({
    db,
    origins: checkoutOrigins,
    payments,
    customers,
    merchants,
    books,
    topUps,
    buyerIdentity: buyers.buyerIdentity,
    clientSecrets,
    exemptions: config.checkout.exemptions,
    tra: { amountMax: config.checkout.traAmountMax, scoreMax: config.checkout.traScoreMax },
    supportEmail: config.checkout.supportEmail,
    publicOrigin: new URL(config.publicUrl).origin,
    rpId: config.buyers.rpId,
    codeTtlSeconds: config.buyers.codeTtlSeconds,
    loyalty,
  });
  return {
    auth: createAuthService({ db }),
    idempotency: createIdempotencyStore(db, db.unflushed),
    merchants,
    books,
    customers,
    payments,
    clientSecrets,
    risk,
    riskEngine,
    riskReviews: createReviewService({ db, payments, payouts, engine: riskEngine.engine }),
    events: createEventStore(db),
    webhooks: createWebhookServiceFromConfig(config, db, keyring),
    payouts,
    refunds,
    disputes,
    topUps,
    checkout,
    checkoutOrigins,
    buyerIdentity: buyers.buyerIdentity,
    messageOutbox: buyers.outbox,
    support: createSupportService({ db, payments, refunds, disputes, merchants, buyerIdentity: buyers.buyerIdentity, messages: buyers.messages, logger }),
    receipts: createReceiptService({ signer: receiptSigner, urlKey: receiptUrlKeyOf(keyring.root), payments, topUps, refunds, merchants }),
    receiptSigner,
    loyalty,
    staff: createStaffService({
      db,
      publicUrl: config.publicUrl,
      webauthn: { rpId: config.buyers.rpId, rpName: config.buyers.rpName, origins: config.buyers.origins },
      merchantName: async (id) => (await merchants.get(id))?.name ?? null,
      messages: buyers.messages,
      logger,
    }),
  };
}
