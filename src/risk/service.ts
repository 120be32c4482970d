// The risk service: the engine wired to storage. It keeps the compiled rules, lists and the active
// model in memory, reloads them when any process changes them (a generation number and the active
// model's version are polled, and a change made in this process reloads at once), serves the risk hook
// that payments, top-ups, refunds and payouts call, and the operator's operations on rules, lists,
// models and reviews.
import { newId } from '../api/ids.ts';
import type { Logger } from '../log/logger.ts';
import type { Database } from '../store/database.ts';
import type { RiskCounters } from './counters.ts';
import { createRiskEngine, DEFAULT_POLICY, EMPTY_RULE_BOOK, ENTITY_LISTS, type ActiveRule, type RiskPolicy, type RuleBook, type SegmentThresholds } from './engine.ts';
import type { RiskDecision, RiskHook } from './hook.ts';
import { parseModel, type TrainedModel } from './learned-model.ts';
import { PROFILE_SIGNALS, type RiskEngine, type RiskInput, type RiskVerdict, type Segment, type Signals } from './model.ts';
import { computeSignals } from './signals.ts';
import { compileRule, type RuleError } from './rules.ts';
import { DEFAULT_RULES } from './default-rules.ts';
import * as store from './store.ts';

const LIST_ITEMS_MAX = 100_000;
const RULES_MAX = 200;

export interface RuleDraft {
  id: string;
  source: string;
  mode: store.RuleMode;
  position: number;
  description: string | null;
}

export type SaveRuleResult =
  | { ok: true; rule: store.StoredRule }
  | { ok: false; code: 'rule_invalid'; errors: RuleError[] }
  | { ok: false; code: 'concurrent_modification' | 'rule_limit_reached' };

export interface BacktestResult {
  decisions: number;
  matched: number;
  labelledFraud: number;
  fraudMatched: number;
  labelledGood: number;
  goodMatched: number;
  /** Decisions the rule would have changed, by their recorded verdict. */
  matchedByRecordedDecision: Record<RiskVerdict, number>;
}

export interface RiskService {
  hook: RiskHook;
  engine: RiskEngine;
  policy: RiskPolicy;
  rules(): Promise<store.StoredRule[]>;
  ruleVersions(id: string): Promise<store.StoredRule[]>;
  saveRule(draft: RuleDraft, expectedVersion: number | null): Promise<SaveRuleResult>;
  /** Evaluates a rule's source against recorded decisions and their labels. */
  backtest(source: string, options: { since?: Date; limit: number }): Promise<{ ok: true; result: BacktestResult } | { ok: false; errors: RuleError[] }>;
  listItems(): Promise<store.ListItem[]>;
  addListItem(list: string, value: string, note: string | null): Promise<void>;
  removeListItem(list: string, value: string): Promise<boolean>;
  /** The newest 100 models, or only version `version`. */
  models(version?: number): Promise<Awaited<ReturnType<typeof store.listModels>>>;
  saveModel(model: TrainedModel, metrics: Record<string, unknown>, activate: boolean): Promise<number>;
  activateModel(version: number): Promise<boolean>;
  /** The version of the model this process scores with, or null. */
  loadedModelVersion(): number | null;
  /** Where a buyer stands now: segment, the thresholds it sets, and the history behind it. */
  buyerProfile(buyerId: string, livemode: boolean): Promise<BuyerProfile>;
  /** Reloads rules, lists and the model if another process changed them. */
  refresh(): Promise<void>;
  close(): void;
}

export interface BuyerProfile {
  buyerId: string;
  livemode: boolean;
  segment: Segment;
  thresholds: SegmentThresholds;
  signals: Pick<Signals, (typeof PROFILE_SIGNALS)[number]>;
}

export interface RiskServiceDependencies {
  db: Database;
  counters: RiskCounters;
  logger: Logger;
  policy?: RiskPolicy;
  /** How often to look for changes made by other processes (0: never, tests call refresh()). */
  reloadIntervalMs: number;
  /** Stores the default rules (src/risk/default-rules.ts) in this mode when the installation has none. */
  defaultRules?: 'live' | 'shadow' | 'none';
}

/** The built-in allow and block list names, which exist without any item. */
export const BUILT_IN_LISTS = ENTITY_LISTS.flatMap(({ entity }) => [`block_${entity}`, `allow_${entity}`]);

export async function createRiskService(deps: RiskServiceDependencies): Promise<RiskService> {
  const { db, logger } = deps;
  const policy = deps.policy ?? DEFAULT_POLICY;
  let book: RuleBook = EMPTY_RULE_BOOK;
  let model: { version: number; model: TrainedModel } | null = null;
  let seenGeneration = -1n;

  async function loadRuleBook(): Promise<void> {
    const generation = await store.generation(db);
    if (generation === seenGeneration) return;
    const [rules, items] = await Promise.all([store.currentRules(db), store.allListItems(db, LIST_ITEMS_MAX)]);
    const lists = new Map<string, Set<string>>();
    for (const item of items) {
      let values = lists.get(item.list);
      if (!values) lists.set(item.list, (values = new Set()));
      values.add(item.value);
    }
    const active: ActiveRule[] = [];
    for (const rule of rules) {
      if (rule.mode === 'disabled') continue;
      const compiled = compileRule(rule.source);
      if (!compiled.ok) {
        logger.error({ rule: rule.id, version: rule.version, errors: compiled.errors }, 'a stored risk rule no longer compiles; it is skipped');
        continue;
      }
      active.push({ id: rule.id, version: rule.version, mode: rule.mode, rule: compiled.rule });
    }
    book = { rules: active, lists };
    seenGeneration = generation;
  }

  async function loadModel(): Promise<void> {
    const version = await store.activeModelVersion(db);
    if (version === (model?.version ?? null)) return;
    if (version === null) {
      model = null;
      return;
    }
    const stored = await store.activeModel(db);
    if (!stored) return;
    try {
      model = { version: stored.version, model: parseModel(stored.model) };
      logger.info({ version: stored.version }, 'risk model loaded');
    } catch (error) {
      logger.error({ version: stored.version, error: (error as Error).message }, 'the active risk model cannot be loaded; the previous one stays');
    }
  }

  async function refresh(): Promise<void> {
    await Promise.all([loadRuleBook(), loadModel()]);
  }
  const seedMode = deps.defaultRules ?? 'none';
  if (seedMode !== 'none') {
    const seeds = DEFAULT_RULES.map((rule) => {
      const compiled = compileRule(rule.source);
      if (!compiled.ok) throw new Error(`default rule ${rule.id} does not compile: ${compiled.errors[0]?.message}`);
      return { id: rule.id, source: rule.source, action: compiled.rule.action, mode: seedMode, description: rule.description };
    });
    const seeded = await store.seedRules(db, seeds);
    if (seeded > 0) logger.info({ rules: seeded, mode: seedMode }, 'risk: the default rules were stored for this new installation');
  }
  await refresh();

  let timer: NodeJS.Timeout | null = null;
  if (deps.reloadIntervalMs > 0) {
    timer = setInterval(() => {
      refresh().catch((error: unknown) => logger.warn({ error: (error as Error).message }, 'risk reload failed; retrying'));
    }, deps.reloadIntervalMs);
    timer.unref();
  }

  const engine = createRiskEngine({ counters: deps.counters, ruleBook: () => book, model: () => model?.model ?? null, policy });
  const inputs = new WeakMap<RiskDecision, RiskInput>();

  const hook: RiskHook = {
    async score(context) {
      const input: RiskInput = {
        action: context.action,
        at: Date.now(),
        merchantId: context.merchantId,
        livemode: context.livemode,
        subjectType: context.subjectType,
        subjectId: context.subjectId,
        buyerId: context.buyerId,
        amount: context.amount,
        currency: context.currency,
        categories: context.categories,
        method: context.method ?? null,
        context: context.buyerContext ?? {},
        buyerCreatedAt: context.buyerCreatedAt ? context.buyerCreatedAt.getTime() : null,
        walletBalance: context.walletBalance ?? null,
        cardFingerprint: context.cardFingerprint ?? null,
        cardBin: context.cardBin ?? null,
        loyalty: context.loyalty ?? null,
      };
      const assessment = await engine.score(input).catch((error: unknown) => {
        // The counters (Redis) are unreachable: fail open, as card networks' stand-in processing does,
        // so that an outage of the risk store does not stop every payment; the decision says so.
        logger.error({ error: (error as Error).message, subject: input.subjectId }, 'risk scoring failed; allowing without velocity signals');
        return null;
      });
      if (assessment === null) {
        return { id: newId('rsk'), decision: 'allow', score: null, reasons: [{ code: 'risk_engine_degraded', message: 'The risk engine could not read its counters; allowed without them.' }], context, at: input.at };
      }
      const decision: RiskDecision = {
        id: newId('rsk'),
        decision: assessment.decision,
        score: assessment.score,
        reasons: assessment.reasons,
        context,
        segment: assessment.segment,
        signals: assessment.signals,
        shadow: assessment.shadow,
        at: input.at,
      };
      inputs.set(decision, input);
      return decision;
    },
    async report(decision, succeeded) {
      const input = inputs.get(decision);
      if (input) await engine.observe({ type: 'outcome', input, succeeded });
    },
  };

  return {
    hook,
    engine,
    policy,
    rules: () => store.currentRules(db),
    ruleVersions: (id) => store.ruleVersions(db, id),
    async saveRule(draft, expectedVersion) {
      // Lists may have been created by another process a moment ago; a disabled rule may name a list
      // that is gone (disabling it must always be possible).
      await loadRuleBook();
      const knownLists = draft.mode === 'disabled' ? undefined : new Set([...BUILT_IN_LISTS, ...book.lists.keys()]);
      const compiled = compileRule(draft.source, { knownLists });
      if (!compiled.ok) return { ok: false, code: 'rule_invalid', errors: compiled.errors };
      const saved = await store.saveRule(db, { ...draft, action: compiled.rule.action }, expectedVersion, RULES_MAX);
      if (saved === 'conflict') return { ok: false, code: 'concurrent_modification' };
      if (saved === 'limit') return { ok: false, code: 'rule_limit_reached' };
      await loadRuleBook();
      return { ok: true, rule: saved };
    },
    async backtest(source, options) {
      await loadRuleBook();
      const compiled = compileRule(source, { knownLists: new Set([...BUILT_IN_LISTS, ...book.lists.keys()]) });
      if (!compiled.ok) return { ok: false, errors: compiled.errors };
      const history = await store.decisionHistory(db, options);
      const result: BacktestResult = {
        decisions: history.length, matched: 0, labelledFraud: 0, fraudMatched: 0, labelledGood: 0, goodMatched: 0,
        matchedByRecordedDecision: { allow: 0, challenge: 0, review: 0, block: 0 },
      };
      for (const record of history) {
        const matched = compiled.rule.matches(record.signals as never, book.lists);
        if (record.fraud === true) result.labelledFraud += 1;
        if (record.fraud === false) result.labelledGood += 1;
        if (!matched) continue;
        result.matched += 1;
        result.matchedByRecordedDecision[record.decision] += 1;
        if (record.fraud === true) result.fraudMatched += 1;
        if (record.fraud === false) result.goodMatched += 1;
      }
      return { ok: true, result };
    },
    listItems: () => store.allListItems(db, LIST_ITEMS_MAX),
    async addListItem(list, value, note) {
      await store.addListItem(db, list, value, note);
      await loadRuleBook();
    },
    async removeListItem(list, value) {
      const removed = await store.removeListItem(db, list, value);
      await loadRuleBook();
      return removed;
    },
    models: (version) => store.listModels(db, version),
    async saveModel(trained, metrics, activate) {
      const version = await store.insertModel(db, trained, metrics, activate);
      await loadModel();
      return version;
    },
    async activateModel(version) {
      const done = await store.activateModel(db, version);
      await loadModel();
      return done;
    },
    loadedModelVersion: () => model?.version ?? null,
    async buyerProfile(buyerId, livemode) {
      const probe: RiskInput = {
        action: 'payment', at: Date.now(), merchantId: null, livemode, subjectType: 'profile', subjectId: buyerId, buyerId,
        amount: 0n, currency: 'USD', categories: [], method: null, context: {},
      };
      const signals = await computeSignals(probe, deps.counters, policy.segments);
      const segment = signals.segment as Segment;
      return {
        buyerId,
        livemode,
        segment,
        thresholds: policy.thresholds[segment],
        signals: Object.fromEntries(PROFILE_SIGNALS.map((name) => [name, signals[name]])) as BuyerProfile['signals'],
      };
    },
    refresh,
    close() {
      if (timer) clearInterval(timer);
    },
  };
}
