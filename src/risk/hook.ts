// The risk hook: every money-moving request asks it before the ledger moves money, and its decision is
// recorded with its reasons in the same database transaction as the change it allowed or refused.
// `createAllowAllRiskHook` allows everything (tests that are not about risk); the risk engine's hook is
// `createRiskService(...).hook` (src/risk/service.ts).
import { statementWriter, type UnitWrite } from '../ledger/unit-of-work.ts';
import { newId } from '../api/ids.ts';
import type { BuyerContext, LoyaltyRiskFacts, PaymentMethodKind, RiskAction, RiskReason, RiskSubject, RiskVerdict, Segment, ShadowMatch, Signals } from './model.ts';
import { RISK_REVIEWS_WRITER } from './store.ts';

export type { RiskAction, RiskReason, RiskVerdict };

export interface RiskContext extends RiskSubject {
  action: RiskAction;
  categories: string[];
  /** What the caller knows of the buyer's device, network and place (optional, from the checkout). */
  buyerContext?: BuyerContext | null;
  method?: PaymentMethodKind | null;
  walletBalance?: bigint | null;
  cardFingerprint?: string | null;
  cardBin?: string | null;
  buyerCreatedAt?: Date | null;
  /** Points farming facts from loyalty (payments at a merchant with a program). */
  loyalty?: LoyaltyRiskFacts | null;
}

export interface RiskDecision {
  id: string;
  decision: RiskVerdict;
  score: number | null;
  reasons: RiskReason[];
  context: RiskContext;
  segment?: Segment;
  signals?: Signals;
  shadow?: ShadowMatch[];
  /** When the decision was made (ms since the epoch): the outcome is reported at the same time. */
  at?: number;
}

export interface RiskHook {
  score(context: RiskContext): Promise<RiskDecision>;
  /** Tells the engine whether the movement it scored went through (velocity, failures, known devices). */
  report?(decision: RiskDecision, succeeded: boolean): Promise<void>;
}

export function createAllowAllRiskHook(): RiskHook {
  return {
    async score(context) {
      return {
        id: newId('rsk'),
        decision: 'allow',
        score: null,
        reasons: [{ code: 'no_risk_engine', message: 'No risk engine is configured; everything is allowed.' }],
        context,
      };
    },
  };
}

export const RISK_DECISIONS_WRITER = 'risk_decisions';

/** The unit-of-work write that records `decision` with the change it belongs to. */
export function riskDecisionWrite(decision: RiskDecision): UnitWrite {
  const { context } = decision;
  return {
    writer: RISK_DECISIONS_WRITER,
    row: {
      id: decision.id,
      merchant_id: context.merchantId,
      livemode: context.livemode,
      subject_type: context.subjectType,
      subject_id: context.subjectId,
      action: context.action,
      decision: decision.decision,
      score: decision.score,
      reasons: decision.reasons,
      buyer_id: context.buyerId,
      amount: context.amount.toString(),
      currency: context.currency,
      segment: decision.segment ?? null,
      signals: decision.signals ?? null,
      shadow: decision.shadow ?? [],
    },
  };
}

/** The unit-of-work write that opens a review of `decision`'s subject (written with its hold). */
export function reviewOpenWrite(decision: RiskDecision): UnitWrite {
  const { context } = decision;
  return {
    writer: RISK_REVIEWS_WRITER,
    row: {
      insert: true,
      id: newId('rev'),
      decision_id: decision.id,
      merchant_id: context.merchantId,
      livemode: context.livemode,
      subject_type: context.subjectType,
      subject_id: context.subjectId,
      buyer_id: context.buyerId,
      amount: context.amount.toString(),
      currency: context.currency,
      reasons: decision.reasons,
    },
  };
}

export const writeRiskDecisions = statementWriter((rows, first) => [
  {
    sql: `INSERT INTO risk_decisions (id, merchant_id, livemode, subject_type, subject_id, action, decision, score, reasons,
       buyer_id, amount, currency, segment, signals, shadow)
     SELECT id, merchant_id, livemode, subject_type, subject_id, action, decision, score, reasons,
       buyer_id, amount::bigint, currency, segment, signals, coalesce(shadow, '[]'::jsonb)
     FROM jsonb_to_recordset($${first}::jsonb) AS r(id text, merchant_id text, livemode boolean, subject_type text,
       subject_id text, action text, decision text, score double precision, reasons jsonb,
       buyer_id text, amount text, currency text, segment text, signals jsonb, shadow jsonb)
     ON CONFLICT (id) DO NOTHING`,
    params: [JSON.stringify(rows)],
    expectedRows: null,
  },
]);
