// The risk hook: every money-moving request asks it before the ledger moves money, and its decision is
// recorded with its reasons in the same database transaction as the change it allowed or refused.
// Until the risk engine (issue "Risk engine") plugs in, `createAllowAllRiskHook` allows everything.
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { SqlClient } from '../store/database.ts';
import { newId } from '../api/ids.ts';

export type RiskAction = 'payment' | 'top_up' | 'refund' | 'payout' | 'tip';
export type RiskVerdict = 'allow' | 'challenge' | 'review' | 'block';

export interface RiskContext {
  action: RiskAction;
  merchantId: string | null;
  livemode: boolean;
  subjectType: string;
  subjectId: string;
  buyerId: string | null;
  amount: bigint;
  currency: string;
  categories: string[];
}

export interface RiskReason {
  code: string;
  message: string;
}

export interface RiskDecision {
  id: string;
  decision: RiskVerdict;
  score: number | null;
  reasons: RiskReason[];
  context: RiskContext;
}

export interface RiskHook {
  score(context: RiskContext): Promise<RiskDecision>;
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
    },
  };
}

export async function writeRiskDecisions(tx: SqlClient, rows: unknown[]): Promise<void> {
  await tx.query(
    `INSERT INTO risk_decisions (id, merchant_id, livemode, subject_type, subject_id, action, decision, score, reasons)
     SELECT id, merchant_id, livemode, subject_type, subject_id, action, decision, score, reasons
     FROM jsonb_to_recordset($1::jsonb) AS r(id text, merchant_id text, livemode boolean, subject_type text,
       subject_id text, action text, decision text, score double precision, reasons jsonb)
     ON CONFLICT (id) DO NOTHING`,
    [JSON.stringify(rows)],
  );
}
