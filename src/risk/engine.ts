// The risk engine: computes the signals of a movement, then decides in a fixed, documented order
// (docs/risk.md): block lists, allow lists, live rules, the built-in detectors (cash-out pattern,
// new device on a large amount), the learned model against the buyer's segment thresholds, and last
// the friction policy (a trusted buyer under the low-value threshold is never challenged). Every
// decision carries readable reasons; shadow rules are evaluated and reported, never acted on.
import type { RiskCounters } from './counters.ts';
import { scoreModel, type TrainedModel } from './learned-model.ts';
import type { RiskAssessment, RiskEngine, RiskInput, RiskReason, RiskVerdict, Segment, ShadowMatch, SignalName, Signals } from './model.ts';
import { describeSignal } from './reasons.ts';
import type { CompiledRule } from './rules.ts';
import { computeSignals, DEFAULT_SEGMENT_RULES, recordObservation, type SegmentRules } from './signals.ts';

export interface SegmentThresholds {
  /** Model probabilities at or above which the decision is at least challenge, review, block. */
  challenge: number;
  review: number;
  block: number;
}

export interface RiskPolicy {
  thresholds: Record<Segment, SegmentThresholds>;
  /** A trusted buyer paying less than this (US cents) is never challenged. */
  lowValueUsdCents: number;
  /** A payment above this (US cents) from a device the buyer first used less than a day ago is at least challenged. */
  largeAmountUsdCents: number;
  /** With a model loaded, a challenge is waived when the model's fraud probability is below this: the
   * transaction-risk-analysis exemption of PSD2 (RTS art. 18), which spares honest buyers a step-up that
   * a rule would have asked for. Review and block are never waived. 0 turns it off. */
  modelExemptionBelow: number;
  /** What a detected cash-out pattern leads to. */
  cashOutDecision: 'review' | 'block';
  segments: SegmentRules;
}

export const DEFAULT_POLICY: RiskPolicy = {
  thresholds: {
    new: { challenge: 0.05, review: 0.4, block: 0.9 },
    established: { challenge: 0.05, review: 0.5, block: 0.95 },
    trusted: { challenge: 0.1, review: 0.6, block: 0.99 },
    watch: { challenge: 0.03, review: 0.25, block: 0.85 },
  },
  lowValueUsdCents: 3_000,
  largeAmountUsdCents: 10_000,
  modelExemptionBelow: 0.01,
  cashOutDecision: 'review',
  segments: DEFAULT_SEGMENT_RULES,
};

export interface ActiveRule {
  id: string;
  version: number;
  mode: 'live' | 'shadow';
  rule: CompiledRule;
}

/** Rules and lists as loaded from storage; replaced as a whole when an operator changes them. */
export interface RuleBook {
  rules: readonly ActiveRule[];
  lists: ReadonlyMap<string, ReadonlySet<string>>;
}

export const EMPTY_RULE_BOOK: RuleBook = { rules: [], lists: new Map() };

/** The built-in allow and block lists, by the signal whose value they hold. */
export const ENTITY_LISTS: readonly { entity: string; signal: SignalName }[] = [
  { entity: 'buyers', signal: 'buyer_id' },
  { entity: 'devices', signal: 'device_id' },
  { entity: 'ips', signal: 'ip_address' },
  { entity: 'card_bins', signal: 'card_bin' },
  { entity: 'phones', signal: 'phone_number' },
];

export interface RiskEngineDependencies {
  counters: RiskCounters;
  /** The current rules and lists (read on every score, so a reload takes effect at once). */
  ruleBook: () => RuleBook;
  /** The current learned model, or null. */
  model: () => TrainedModel | null;
  policy?: RiskPolicy;
}

const SEVERITY: Record<RiskVerdict, number> = { allow: 0, challenge: 1, review: 2, block: 3 };

interface Candidate {
  verdict: RiskVerdict;
  reason: RiskReason;
}

function listed(book: RuleBook, kind: 'block' | 'allow', signals: Signals): RiskReason | null {
  for (const { entity, signal } of ENTITY_LISTS) {
    const value = signals[signal];
    if (typeof value === 'string' && book.lists.get(`${kind}_${entity}`)?.has(value)) {
      return { code: `${kind}_listed`, message: `The ${signal.replace(/_id$|_address$|_number$/, '').replace('_', ' ')} is on the ${kind} list ${kind}_${entity}.` };
    }
  }
  return null;
}

/** The cash-out pattern: resellable codes bought the way cash-out rings buy them. */
function cashOutIndicators(signals: Signals): string[] {
  if (signals.is_cash_equivalent !== true) return [];
  const indicators: string[] = [];
  if (Number(signals.buyer_codes_redeemed_elsewhere_30d) >= 1) indicators.push('codes this buyer bought were redeemed by other accounts');
  if (Number(signals.carrier_limit_used_ratio ?? 0) >= 0.8) indicators.push('the monthly carrier-billing limit is nearly used up');
  if (Number(signals.device_phones_30d) >= 3) indicators.push('several phone numbers are used from one device');
  if (Number(signals.device_buyers_30d) >= 3) indicators.push('several accounts are used from one device');
  if (Number(signals.account_age_days) < 7) indicators.push('the account is new');
  if (Number(signals.buyer_amount_1d) + Number(signals.amount_usd) >= 20_000) indicators.push('more than $200 of codes in a day');
  return indicators;
}

function ruleReason(rule: ActiveRule): RiskReason {
  return { code: `rule:${rule.id}`, message: `Rule ${rule.id} (version ${rule.version}) matched: ${rule.rule.source}` };
}

export function createRiskEngine(deps: RiskEngineDependencies): RiskEngine {
  const policy = deps.policy ?? DEFAULT_POLICY;

  function decide(input: RiskInput, signals: Signals, book: RuleBook, model: TrainedModel | null): Omit<RiskAssessment, 'signals' | 'segment'> {
    const blocked = listed(book, 'block', signals);
    if (blocked) return { decision: 'block', score: null, reasons: [blocked], shadow: [] };
    const allowed = listed(book, 'allow', signals);
    if (allowed) return { decision: 'allow', score: null, reasons: [allowed], shadow: [] };

    const modelScore = model ? scoreModel(model, signals) : null;
    signals.risk_score = modelScore?.probability ?? 0;
    const candidates: Candidate[] = [];
    const shadow: ShadowMatch[] = [];
    let allowRule: ActiveRule | null = null;
    for (const active of book.rules) {
      if (!active.rule.matches(signals, book.lists)) continue;
      if (active.mode === 'shadow') {
        shadow.push({ ruleId: active.id, version: active.version, action: active.rule.action });
      } else if (active.rule.action === 'allow') {
        allowRule ??= active;
      } else {
        candidates.push({ verdict: active.rule.action, reason: ruleReason(active) });
      }
    }
    const score = modelScore?.probability ?? null;
    if (allowRule && !candidates.some((candidate) => candidate.verdict === 'block')) {
      return { decision: 'allow', score, reasons: [ruleReason(allowRule)], shadow };
    }

    const indicators = cashOutIndicators(signals);
    if (indicators.length >= 2) {
      candidates.push({ verdict: policy.cashOutDecision, reason: { code: 'cash_out_pattern', message: `Looks like cash-out of resellable codes: ${indicators.join('; ')}.` } });
    }
    if (signals.device_age_hours !== null && Number(signals.device_age_hours) < 24 && Number(signals.amount_usd) > policy.largeAmountUsdCents) {
      candidates.push({ verdict: 'challenge', reason: { code: 'new_device_large_amount', message: 'A large amount from a device this buyer has not used before.' } });
    }
    if (modelScore) {
      const thresholds = policy.thresholds[signals.segment as Segment];
      const verdict: RiskVerdict = modelScore.probability >= thresholds.block ? 'block'
        : modelScore.probability >= thresholds.review ? 'review'
          : modelScore.probability >= thresholds.challenge ? 'challenge' : 'allow';
      if (verdict !== 'allow') {
        candidates.push({ verdict, reason: { code: 'high_risk_score', message: `The model scored ${modelScore.probability.toFixed(3)} for a ${signals.segment} buyer.` } });
        for (const { name } of modelScore.top) candidates.push({ verdict, reason: describeSignal(name, signals[name]) });
      }
    }
    candidates.sort((left, right) => SEVERITY[right.verdict] - SEVERITY[left.verdict]);
    let decision: RiskVerdict = candidates[0]?.verdict ?? 'allow';
    const reasons = candidates.map((candidate) => candidate.reason);
    if (decision === 'challenge' && signals.segment === 'trusted' && Number(signals.amount_usd) < policy.lowValueUsdCents) {
      decision = 'allow';
      reasons.push({ code: 'trusted_low_value', message: 'A trusted buyer paying under the low-value threshold is not challenged.' });
    } else if (decision === 'challenge' && modelScore && modelScore.probability < policy.modelExemptionBelow) {
      decision = 'allow';
      reasons.push({ code: 'low_risk_exemption', message: `The model scored ${modelScore.probability.toFixed(4)}, under the exemption threshold; no step-up.` });
    }
    // Nobody can answer a challenge for a payout or a refund the merchant asked for: a person looks instead.
    if (decision === 'challenge' && (input.action === 'payout' || input.buyerId === null)) decision = 'review';
    if (reasons.length === 0) reasons.push({ code: 'low_risk', message: 'Nothing unusual was found.' });
    return { decision, score, reasons, shadow };
  }

  return {
    async score(input) {
      const signals = await computeSignals(input, deps.counters, policy.segments);
      const outcome = decide(input, signals, deps.ruleBook(), deps.model());
      return { ...outcome, segment: signals.segment as Segment, signals };
    },
    observe: (observation) => recordObservation(observation, deps.counters),
  };
}
