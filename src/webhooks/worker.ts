// The delivery worker. Each poll it fans new events out into deliveries (one per matching endpoint),
// then claims due deliveries (FOR UPDATE SKIP LOCKED, with a lease) up to its free concurrency and
// POSTs them, signed. Every process of an installation may run one: they share the work through the
// database and a delivery is attempted by one process at a time. Delivery is at least once: a process
// that dies between the receiver's answer and the record of it leaves the delivery to be sent again
// when its lease ends.
import type { Logger } from '../log/logger.ts';
import type { Database, SqlClient } from '../store/database.ts';
import { eventJson } from '../events/model.ts';
import { insertEvents } from '../events/outbox.ts';
import { endpointJson } from './model.ts';
import { signedHeaders, type SecretBox } from './secrets.ts';
import { createSender, type SendResult, type Sender } from './sender.ts';
import * as store from './store.ts';
import { privateAllowed } from './targets.ts';
import type { Config } from '../config/config.ts';

/** The webhook settings of the configuration (documented there), without the secrets' key. */
export type WebhookWorkerOptions = Omit<Config['webhooks'], 'secretEncryptionKey'>;

export interface WebhookWorker {
  /** One poll: fan out, claim and start attempts; resolves once they are started, not finished. */
  runOnce(): Promise<number>;
  /** Resolves when no attempt of this worker is running. */
  idle(): Promise<void>;
  /** What this worker has done since it started. */
  stats(): { eventsFannedOut: number; attemptsStarted: number };
  stop(): Promise<void>;
}

export interface WebhookWorkerDependencies {
  db: Database;
  secretBox: SecretBox;
  logger?: Logger;
  options: WebhookWorkerOptions;
}

/** Retry delays vary by up to this fraction either way, so receivers that failed together are not
 * retried together. */
export const RETRY_JITTER_FRACTION = 0.1;
/** Fan-out statements per poll at most; the rest waits for the next poll. */
const FAN_OUT_ROUNDS_MAX = 20;
/** How long a claimed attempt may run before another process may take the delivery over. */
const LEASE_MARGIN_SECONDS = 30;
const SWEEP_INTERVAL_MS = 60_000;
const SWEEP_BATCH_MAX = 500;

export function attemptsMaxOf(options: Pick<WebhookWorkerOptions, 'retryScheduleMs'>): number {
  return options.retryScheduleMs.length + 1;
}

/** The delay before the retry that follows attempt number `attempt` (1-based), with jitter. */
export function retryDelayMs(scheduleMs: number[], attempt: number, random: () => number = Math.random): number {
  const base = scheduleMs[Math.min(attempt - 1, scheduleMs.length - 1)] ?? 0;
  return Math.max(0, Math.round(base * (1 + RETRY_JITTER_FRACTION * (2 * random() - 1))));
}

export function createWebhookWorker(deps: WebhookWorkerDependencies): WebhookWorker {
  const { db, secretBox, logger, options } = deps;
  const sender: Sender = createSender({
    timeoutMs: options.timeoutMs,
    responseBodyBytesMax: options.responseBodyBytesMax,
    socketsPerHostMax: options.concurrency,
  });
  const leaseSeconds = Math.ceil(options.timeoutMs / 1000) + LEASE_MARGIN_SECONDS;
  const attemptsMax = attemptsMaxOf(options);
  const inFlight = new Set<Promise<void>>();
  let polling: Promise<number> | null = null;
  let stopped = false;
  let moreDue = false;
  let lastSweepMs = 0;
  const counts = { eventsFannedOut: 0, attemptsStarted: 0 };

  function shouldDisable(health: store.EndpointHealth, now: Date): boolean {
    const byCount = options.disableAfterExhaustedDeliveries > 0 && health.exhaustedDeliveriesInRow >= options.disableAfterExhaustedDeliveries;
    const byTime =
      options.disableAfterFailingSeconds > 0 &&
      health.failingSince !== null &&
      now.getTime() - health.failingSince.getTime() >= options.disableAfterFailingSeconds * 1000;
    return byCount || byTime;
  }

  /** Sends one attempt; null when the endpoint was disabled or deleted after the claim (not sent). */
  async function send(claimed: store.ClaimedDelivery, startedAt: Date): Promise<SendResult | null> {
    const { endpoint } = claimed;
    if (endpoint.deleted || endpoint.status !== 'enabled' || !endpoint.secretSealed) return null;
    const secrets = [secretBox.open(endpoint.secretSealed, endpoint.id)];
    if (endpoint.previousSecretSealed && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > startedAt) {
      secrets.push(secretBox.open(endpoint.previousSecretSealed, endpoint.id));
    }
    const payload = JSON.stringify(eventJson(claimed.event));
    return sender.send({
      url: new URL(endpoint.url),
      headers: { ...signedHeaders(secrets, claimed.event.id, startedAt, payload) },
      body: payload,
      publicOnly: !privateAllowed(options.privateTargets, endpoint.livemode),
    });
  }

  async function disableFailing(tx: SqlClient, endpointId: string): Promise<void> {
    if (!(await store.disableEndpoint(tx, endpointId, 'failing'))) return;
    const endpoint = (await store.endpointById(tx, endpointId))!;
    await insertEvents(tx, [
      {
        merchantId: endpoint.merchantId,
        livemode: endpoint.livemode,
        type: 'webhook_endpoint.disabled',
        object: endpointJson(endpoint),
        occurrence: new Date().toISOString(),
      },
    ]);
    logger?.warn({ endpoint: endpointId }, 'webhook endpoint disabled after persistent failure');
  }

  /** The attempt's result; `counts` says whether it tells anything about the endpoint's health (a
   * failure of ours does not), `final` that no retry makes sense. */
  async function perform(claimed: store.ClaimedDelivery, startedAt: Date): Promise<{ result: SendResult; counts: boolean; final: boolean }> {
    try {
      const sent = await send(claimed, startedAt);
      if (sent) return { result: sent, counts: true, final: false };
      return { result: { status: null, body: null, latencyMs: 0, error: 'endpoint_disabled: the endpoint was disabled or deleted; not sent' }, counts: false, final: true };
    } catch (error) {
      logger?.error({ err: error, delivery: claimed.id }, 'webhook attempt failed on our side');
      return { result: { status: null, body: null, latencyMs: 0, error: 'internal_error: the attempt failed on our side; it does not count against the endpoint' }, counts: false, final: false };
    }
  }

  async function attempt(claimed: store.ClaimedDelivery): Promise<void> {
    const startedAt = new Date();
    const { result, counts, final } = await perform(claimed, startedAt);
    const succeeded = result.status !== null && result.status >= 200 && result.status < 300;
    const retryInMs = succeeded || final || claimed.attempt >= claimed.attemptsMax ? null : retryDelayMs(options.retryScheduleMs, claimed.attempt);
    const outcome: store.AttemptOutcome = {
      deliveryId: claimed.id,
      endpointId: claimed.endpoint.id,
      attempt: claimed.attempt,
      startedAt,
      succeeded,
      responseStatus: result.status,
      responseBody: result.body,
      latencyMs: result.latencyMs,
      error: result.error ?? (succeeded ? null : `http_status: the endpoint answered ${result.status}`),
      retryInMs,
    };
    // The endpoint row is locked (or updated) before the delivery row, as everywhere else.
    await db.transaction(async (tx) => {
      if (!counts) {
        await store.recordAttempt(tx, outcome);
        return;
      }
      if (succeeded) {
        await store.markEndpointHealthy(tx, claimed.endpoint.id);
        await store.recordAttempt(tx, outcome);
        return;
      }
      const health = await store.lockEndpointHealth(tx, claimed.endpoint.id);
      const current = await store.recordAttempt(tx, outcome);
      if (!current || !health || health.status !== 'enabled') return;
      const updated = await store.markEndpointFailing(tx, claimed.endpoint.id, startedAt, retryInMs === null);
      if (shouldDisable(updated, new Date())) await disableFailing(tx, claimed.endpoint.id);
    });
  }

  function track(claimed: store.ClaimedDelivery): void {
    const running: Promise<void> = attempt(claimed)
      .catch((error: unknown) => logger?.error({ err: error, delivery: claimed.id }, 'webhook attempt could not be recorded; retried after its lease'))
      .finally(() => {
        inFlight.delete(running);
        // A full claim suggests more is due: poll again as soon as a slot frees instead of at the next tick.
        if (moreDue && !stopped) void runOnce().catch(() => undefined);
      });
    inFlight.add(running);
  }

  async function poll(): Promise<number> {
    let work = 0;
    for (let round = 0; round < FAN_OUT_ROUNDS_MAX && !stopped; round += 1) {
      const taken = await store.fanOut(db, options.fanOutBatchMax, attemptsMax);
      work += taken;
      counts.eventsFannedOut += taken;
      if (taken < options.fanOutBatchMax) break;
    }
    const free = Math.min(options.concurrency - inFlight.size, options.batchMax);
    if (free > 0 && !stopped) {
      const claimed = await store.claimDue(db, free, leaseSeconds);
      moreDue = claimed.length === free;
      for (const delivery of claimed) track(delivery);
      counts.attemptsStarted += claimed.length;
      work += claimed.length;
    }
    if (Date.now() - lastSweepMs >= SWEEP_INTERVAL_MS && !stopped) {
      lastSweepMs = Date.now();
      work += await store.sweep(db, options.deliveryRetentionDays, SWEEP_BATCH_MAX);
    }
    return work;
  }

  function runOnce(): Promise<number> {
    polling ??= poll().finally(() => {
      polling = null;
    });
    return polling;
  }

  return {
    runOnce,
    stats: () => ({ ...counts }),
    async idle() {
      while (inFlight.size > 0 || polling) {
        await Promise.allSettled([...inFlight, polling]);
      }
    },
    async stop() {
      stopped = true;
      await polling?.catch(() => undefined);
      await Promise.allSettled([...inFlight]);
      sender.close();
    },
  };
}

/** Creates the worker and polls every `pollIntervalMs` until stopped. */
export function startWebhookWorker(deps: WebhookWorkerDependencies): WebhookWorker {
  const worker = createWebhookWorker(deps);
  const timer = setInterval(() => {
    worker.runOnce().catch((error: unknown) => deps.logger?.error({ err: error }, 'webhook poll failed'));
  }, deps.options.pollIntervalMs);
  timer.unref();
  return {
    ...worker,
    async stop() {
      clearInterval(timer);
      await worker.stop();
    },
  };
}
