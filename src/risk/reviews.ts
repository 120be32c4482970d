// The review queue: movements the engine held for a person. An operator lists them, claims one (so
// two analysts do not work the same case), and decides: approve captures the held payment (or releases
// the held payout to the bank), reject releases the hold back to the buyer and cancels the payment as
// fraudulent (or voids the payout's hold and fails it). The review's decision and
// its label (fraud or not, for training) commit in the same group commit as the payment's change, and
// the engine learns the label at once (a rejected buyer moves to the watch segment).
import type { ApiErrorCode } from '../api/errors.ts';
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import type { PaymentService } from '../payments/service.ts';
import type { PayoutService } from '../payouts/service.ts';
import type { Database } from '../store/database.ts';
import type { RiskEngine } from './model.ts';
import * as store from './store.ts';

export type ReviewResult =
  | { ok: true; review: store.Review }
  | { ok: false; code: ApiErrorCode; message: string; param?: string; review?: store.Review };

export interface ReviewService {
  list(options: { status?: store.ReviewStatus; limit: number; startingAfter?: string }): Promise<{ data: store.Review[]; hasMore: boolean }>;
  get(id: string): Promise<store.Review | null>;
  claim(id: string, claimant: string): Promise<ReviewResult>;
  decide(id: string, input: { approve: boolean; note: string | null; operator: string }): Promise<ReviewResult>;
}

export interface ReviewDependencies {
  db: Database;
  payments: PaymentService;
  payouts: PayoutService;
  engine: RiskEngine;
}

function missing(id: string): ReviewResult {
  return { ok: false, code: 'resource_missing', param: 'id', message: `No such review: ${id}.` };
}

export function createReviewService(deps: ReviewDependencies): ReviewService {
  const { db } = deps;
  return {
    list: (options) => store.listReviews(db, options),
    get: (id) => store.getReview(db, id),

    async claim(id, claimant) {
      const claimed = await store.claimReview(db, id, claimant);
      if (claimed) return { ok: true, review: claimed };
      const review = await store.getReview(db, id);
      if (!review) return missing(id);
      return { ok: false, code: 'review_unexpected_state', message: review.status === 'claimed' ? `The review is claimed by ${review.claimedBy}.` : `The review is ${review.status}.`, review };
    },

    async decide(id, input) {
      const review = await store.getReview(db, id);
      if (!review) return missing(id);
      if (review.status === 'approved' || review.status === 'rejected') {
        return { ok: false, code: 'review_unexpected_state', message: `The review was already ${review.status}.`, review };
      }
      if (review.status === 'claimed' && review.claimedBy !== input.operator) {
        return { ok: false, code: 'review_unexpected_state', message: `The review is claimed by ${review.claimedBy}; only they can decide it.`, review };
      }
      if (review.subjectType !== 'payment' && review.subjectType !== 'payout') {
        return { ok: false, code: 'review_unexpected_state', message: `Reviews of ${review.subjectType} are decided where they were raised.`, review };
      }
      const status = input.approve ? 'approved' : 'rejected';
      const writes: UnitWrite[] = [
        { writer: store.RISK_REVIEWS_WRITER, row: { insert: false, id: review.id, status, note: input.note, version: review.version } },
        store.riskLabelWrite({ subjectId: review.subjectId, source: 'review', fraud: !input.approve, buyerId: review.buyerId }),
      ];
      const settle = review.subjectType === 'payout'
        ? deps.payouts.settleReview(review.subjectId, input.approve, writes).then((result) => (result.ok ? { ok: true as const } : { ok: false as const, code: result.code, message: result.message, canceled: false }))
        : deps.payments.settleReview(review.subjectId, input.approve, writes).then((result) => (result.ok ? { ok: true as const } : { ok: false as const, code: result.code, message: result.message, canceled: result.payment?.status === 'canceled' }));
      const settled = await settle.catch((error: unknown) => {
        if (error instanceof store.ReviewChangedError) return null;
        throw error;
      });
      if (settled === null) return { ok: false, code: 'concurrent_modification', message: 'The review changed while it was being decided; read it again.' };
      if (!settled.ok && settled.code !== 'payment_unexpected_state') return { ok: false, code: settled.code, message: settled.message ?? 'The movement could not be settled.' };
      if (!settled.ok) return { ok: false, code: 'review_unexpected_state', message: settled.canceled ? 'The review hold expired before the decision; the payment was canceled and the buyer keeps the money.' : settled.message ?? 'The payment is no longer held for review.' };
      await deps.engine.observe({ type: 'label', at: Date.now(), buyerId: review.buyerId, subjectId: review.subjectId, fraud: !input.approve, livemode: review.livemode });
      return { ok: true, review: (await store.getReview(db, id))! };
    },
  };
}
