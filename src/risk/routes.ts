// /v1/risk: the operator's console of the risk engine (operator key only). Rules (versioned, never
// deleted), back-tests over recorded decisions, allow, block and named lists, the review queue, the
// policy, the learned models, and recorded decisions. Changes take effect in this process at once and
// in the others within the reload interval (src/risk/service.ts).
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, LIST_QUERY_PROPERTIES, listBody, listLimit, listSchema, requireOperator } from '../api/http.ts';
import { amountJson } from '../payments/model.ts';
import type { SqlClient } from '../store/database.ts';
import type { ReviewResult, ReviewService } from './reviews.ts';
import {
  ADD_LIST_ITEM_BODY, BACKTEST_BODY, BUYER_PROFILE_SCHEMA, BACKTEST_LIMIT_DEFAULT, BACKTEST_RESULT_SCHEMA, DECIDE_REVIEW_BODY, DELETED_LIST_ITEM_SCHEMA,
  EMPTY_BODY, NO_QUERY, LIST_ITEM_PARAMS, LIST_ITEMS_SHOWN_MAX, LIST_PARAMS, LIST_REVIEWS_QUERY_PROPERTIES, MODEL_PARAMS, PUT_RULE_BODY,
  RISK_DECISION_SCHEMA, RISK_LIST_ITEM_SCHEMA, RISK_LISTS_SCHEMA, RISK_MODEL_SCHEMA, RISK_MODELS_SCHEMA, RISK_POLICY_SCHEMA,
  RISK_REVIEW_SCHEMA, RISK_RULE_SCHEMA, RULE_ID_PARAMS,
} from './schemas.ts';
import { BUILT_IN_LISTS, type BacktestResult, type RiskService } from './service.ts';
import { compileRule, type RuleError } from './rules.ts';
import * as store from './store.ts';

export interface RiskRouteDependencies {
  risk: RiskService;
  reviews: ReviewService;
  /** Read-only access to recorded decisions and list items. */
  db: SqlClient;
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
const secondsOrNull = (date: Date | null) => (date ? seconds(date) : null);
const share = (part: number, whole: number) => (whole === 0 ? null : part / whole);

function ruleJson(rule: store.StoredRule) {
  return {
    id: rule.id,
    object: 'risk_rule' as const,
    version: rule.version,
    source: rule.source,
    action: rule.action,
    mode: rule.mode,
    position: rule.position,
    description: rule.description,
    created: seconds(rule.createdAt),
  };
}

function listItemJson(item: store.ListItem) {
  return { object: 'risk_list_item' as const, list: item.list, value: item.value, note: item.note, created: seconds(item.createdAt) };
}

function reviewJson(review: store.Review) {
  return {
    id: review.id,
    object: 'risk_review' as const,
    livemode: review.livemode,
    status: review.status,
    subject_type: review.subjectType,
    subject: review.subjectId,
    merchant: review.merchantId,
    buyer: review.buyerId,
    amount: amountJson(review.amount),
    currency: review.currency,
    reasons: review.reasons,
    risk_decision: review.decisionId,
    claimed_by: review.claimedBy,
    claimed_at: secondsOrNull(review.claimedAt),
    decided_at: secondsOrNull(review.decidedAt),
    note: review.note,
    created: seconds(review.createdAt),
  };
}

function decisionJson(decision: store.StoredDecision) {
  return {
    id: decision.id,
    object: 'risk_decision' as const,
    livemode: decision.livemode,
    action: decision.action,
    subject_type: decision.subjectType,
    subject: decision.subjectId,
    merchant: decision.merchantId,
    buyer: decision.buyerId,
    amount: decision.amount === null ? null : amountJson(decision.amount),
    currency: decision.currency,
    decision: decision.decision,
    score: decision.score,
    segment: decision.segment,
    reasons: decision.reasons,
    signals: decision.signals,
    shadow: decision.shadow.map((match) => ({ rule: match.ruleId, version: match.version, action: match.action })),
    created: seconds(decision.createdAt),
  };
}

function backtestJson(action: string, result: BacktestResult) {
  return {
    object: 'risk_backtest' as const,
    action,
    decisions: result.decisions,
    matched: result.matched,
    labelled_fraud: result.labelledFraud,
    fraud_matched: result.fraudMatched,
    labelled_good: result.labelledGood,
    good_matched: result.goodMatched,
    matched_by_recorded_decision: result.matchedByRecordedDecision,
    match_rate: share(result.matched, result.decisions),
    precision: share(result.fraudMatched, result.fraudMatched + result.goodMatched),
    recall: share(result.fraudMatched, result.labelledFraud),
    false_positive_rate: share(result.goodMatched, result.labelledGood),
  };
}

function ruleInvalid(errors: RuleError[]): ApiError {
  const first = errors[0];
  const message = first ? `The rule does not compile: ${first.message}` : undefined;
  return new ApiError('rule_invalid', message, 'source', errors);
}

function unwrapReview(result: ReviewResult) {
  if (result.ok) return reviewJson(result.review);
  throw new ApiError(result.code, result.message, result.param);
}

function missingRule(id: string): ApiError {
  return new ApiError('resource_missing', `No such risk rule: ${id}.`, 'id');
}

export async function riskRoutes(app: FastifyInstance, deps: RiskRouteDependencies): Promise<void> {
  app.addSchema(RISK_RULE_SCHEMA);
  app.addSchema(RISK_LIST_ITEM_SCHEMA);
  app.addSchema(RISK_REVIEW_SCHEMA);
  app.addSchema(RISK_MODEL_SCHEMA);
  app.addSchema(RISK_DECISION_SCHEMA);
  app.addSchema(BACKTEST_RESULT_SCHEMA);
  registerRuleRoutes(app, deps);
  registerListRoutes(app, deps);
  registerReviewRoutes(app, deps);
  registerEngineRoutes(app, deps);
}

function registerRuleRoutes(app: FastifyInstance, { risk }: RiskRouteDependencies): void {
  const tags = ['risk'];
  const one = { 200: { $ref: 'RiskRule#' }, ...errorResponses(409) };

  app.get('/v1/risk/rules', { schema: { tags, querystring: NO_QUERY, summary: 'List the rules (the current version of each), in evaluation order', response: { 200: listSchema('RiskRule'), ...errorResponses() } } }, async (request) => {
    requireOperator(request, { write: false });
    return listBody((await risk.rules()).map(ruleJson), false);
  });

  app.get<{ Params: { id: string } }>(
    '/v1/risk/rules/:id',
    { schema: { tags, summary: 'Retrieve the current version of a rule', params: RULE_ID_PARAMS, querystring: NO_QUERY, response: one } },
    async (request) => {
      requireOperator(request, { write: false });
      const [current] = await risk.ruleVersions(request.params.id);
      if (!current) throw missingRule(request.params.id);
      return ruleJson(current);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/risk/rules/:id/versions',
    { schema: { tags, summary: "List a rule's versions, newest first (at most 100)", params: RULE_ID_PARAMS, querystring: NO_QUERY, response: { 200: listSchema('RiskRule'), ...errorResponses() } } },
    async (request) => {
      requireOperator(request, { write: false });
      const versions = await risk.ruleVersions(request.params.id);
      if (versions.length === 0) throw missingRule(request.params.id);
      return listBody(versions.map(ruleJson), versions.at(-1)!.version > 1);
    },
  );

  app.put<{ Params: { id: string }; Body: { source: string; mode: store.RuleMode; position?: number; description?: string | null; expected_version?: number } }>(
    '/v1/risk/rules/:id',
    { schema: { tags, summary: 'Create a rule or add a version (mode disabled turns it off; versions are never deleted)', params: RULE_ID_PARAMS, body: PUT_RULE_BODY, response: one } },
    async (request) => {
      requireOperator(request, { write: true });
      const { id } = request.params;
      const body = request.body;
      const [current] = await risk.ruleVersions(id);
      const draft = {
        id,
        source: body.source,
        mode: body.mode,
        position: body.position ?? current?.position ?? 0,
        description: body.description === undefined ? (current?.description ?? null) : body.description,
      };
      // A PUT that changes nothing adds no version: a retried request answers what the first one made.
      if (current && current.source === draft.source && current.mode === draft.mode && current.position === draft.position && current.description === draft.description) {
        return ruleJson(current);
      }
      const saved = await risk.saveRule(draft, body.expected_version ?? null);
      if (saved.ok) return ruleJson(saved.rule);
      if (saved.code === 'rule_invalid') throw ruleInvalid(saved.errors);
      if (saved.code === 'concurrent_modification') {
        throw new ApiError('concurrent_modification', `The rule ${id} is not at version ${body.expected_version}; read it again and retry.`, 'expected_version');
      }
      throw new ApiError(saved.code);
    },
  );

  app.post<{ Body: { source: string; since?: number; limit?: number } }>(
    '/v1/risk/rules/backtest',
    {
      config: { readOnly: true },
      schema: { tags, summary: 'Evaluate a rule against recorded decisions and their fraud labels', body: BACKTEST_BODY, response: { 200: { $ref: 'RiskBacktest#' }, ...errorResponses() } },
    },
    async (request) => {
      requireOperator(request, { write: false });
      const { source, since, limit } = request.body;
      const outcome = await risk.backtest(source, { ...(since === undefined ? {} : { since: new Date(since * 1000) }), limit: limit ?? BACKTEST_LIMIT_DEFAULT });
      if (!outcome.ok) throw ruleInvalid(outcome.errors);
      // The source compiled against the lists, so it compiles without them: this only reads its action.
      const compiled = compileRule(source);
      return backtestJson(compiled.ok ? compiled.rule.action : 'allow', outcome.result);
    },
  );
}

function registerListRoutes(app: FastifyInstance, { risk, db }: RiskRouteDependencies): void {
  const tags = ['risk'];

  app.get('/v1/risk/lists', { schema: { tags, querystring: NO_QUERY, summary: `The built-in and named lists with their items (at most ${LIST_ITEMS_SHOWN_MAX} shown per list)`, response: { 200: RISK_LISTS_SCHEMA, ...errorResponses() } } }, async (request) => {
    requireOperator(request, { write: false });
    const byName = new Map<string, store.ListItem[]>(BUILT_IN_LISTS.map((name) => [name, []]));
    for (const item of await risk.listItems()) {
      let items = byName.get(item.list);
      if (!items) byName.set(item.list, (items = []));
      items.push(item);
    }
    const builtIn = new Set(BUILT_IN_LISTS);
    const data = [...byName.entries()]
      .sort(([left], [right]) => left.localeCompare(right))
      .map(([name, items]) => ({
        object: 'risk_list' as const,
        name,
        built_in: builtIn.has(name),
        item_count: items.length,
        items: items.slice(0, LIST_ITEMS_SHOWN_MAX).map(listItemJson),
        has_more: items.length > LIST_ITEMS_SHOWN_MAX,
      }));
    return { object: 'list' as const, data, has_more: false };
  });

  app.post<{ Params: { list: string }; Body: { value: string; note?: string } }>(
    '/v1/risk/lists/:list/items',
    { schema: { tags, summary: 'Add a value to a list (or replace its note); a new name makes a named list for rules (@name)', params: LIST_PARAMS, body: ADD_LIST_ITEM_BODY, response: { 200: { $ref: 'RiskListItem#' }, ...errorResponses() } } },
    async (request) => {
      requireOperator(request, { write: true });
      const { list } = request.params;
      const { value, note } = request.body;
      await risk.addListItem(list, value, note ?? null);
      const item = await store.getListItem(db, list, value);
      // Removed again by a concurrent request between the two statements: answer what was asked.
      return item ? listItemJson(item) : { object: 'risk_list_item' as const, list, value, note: note ?? null, created: seconds(new Date()) };
    },
  );

  app.delete<{ Params: { list: string; value: string } }>(
    '/v1/risk/lists/:list/items/:value',
    { schema: { tags, summary: 'Remove a value from a list (the list is gone with its last value)', params: LIST_ITEM_PARAMS, querystring: NO_QUERY, response: { 200: DELETED_LIST_ITEM_SCHEMA, ...errorResponses() } } },
    async (request) => {
      requireOperator(request, { write: true });
      const { list, value } = request.params;
      const removed = await risk.removeListItem(list, value);
      if (!removed) throw new ApiError('resource_missing', `The list ${list} does not hold ${value}.`, 'value');
      return { object: 'risk_list_item' as const, list, value, deleted: true as const };
    },
  );
}

function registerReviewRoutes(app: FastifyInstance, { reviews }: RiskRouteDependencies): void {
  const tags = ['risk'];
  const one = { 200: { $ref: 'RiskReview#' }, ...errorResponses(409, 402) };
  const params = { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] } as const;

  app.get<{ Querystring: { status?: store.ReviewStatus; limit?: string; starting_after?: string } }>(
    '/v1/risk/reviews',
    {
      schema: {
        tags,
        summary: 'List reviews, newest first',
        querystring: { type: 'object', additionalProperties: false, properties: { ...LIST_QUERY_PROPERTIES, ...LIST_REVIEWS_QUERY_PROPERTIES } },
        response: { 200: listSchema('RiskReview'), ...errorResponses() },
      },
    },
    async (request) => {
      requireOperator(request, { write: false });
      const { status, limit, starting_after: startingAfter } = request.query;
      const page = await reviews.list({ ...(status ? { status } : {}), limit: listLimit(limit), ...(startingAfter ? { startingAfter } : {}) });
      return listBody(page.data.map(reviewJson), page.hasMore);
    },
  );

  app.get<{ Params: { id: string } }>('/v1/risk/reviews/:id', { schema: { tags, summary: 'Retrieve a review', params, querystring: NO_QUERY, response: one } }, async (request) => {
    requireOperator(request, { write: false });
    const review = await reviews.get(request.params.id);
    if (!review) throw new ApiError('resource_missing', `No such review: ${request.params.id}.`, 'id');
    return reviewJson(review);
  });

  app.post<{ Params: { id: string } }>(
    '/v1/risk/reviews/:id/claim',
    { schema: { tags, summary: 'Claim an open review: only this operator key can then decide it', params, body: EMPTY_BODY, response: one } },
    async (request) => {
      const operator = requireOperator(request, { write: true });
      return unwrapReview(await reviews.claim(request.params.id, operator.keyId));
    },
  );

  for (const [verb, approve, summary] of [
    ['approve', true, 'Approve: the held payment is captured (with its fee) and the merchant credited'],
    ['reject', false, 'Reject: the hold goes back to the buyer and the payment is canceled as fraudulent'],
  ] as const) {
    app.post<{ Params: { id: string }; Body: { note?: string } }>(
      `/v1/risk/reviews/:id/${verb}`,
      { schema: { tags, summary, params, body: DECIDE_REVIEW_BODY, response: one } },
      async (request) => {
        const operator = requireOperator(request, { write: true });
        return unwrapReview(await reviews.decide(request.params.id, { approve, note: request.body.note ?? null, operator: operator.keyId }));
      },
    );
  }
}

function registerEngineRoutes(app: FastifyInstance, { risk, db }: RiskRouteDependencies): void {
  const tags = ['risk'];

  app.get('/v1/risk/policy', { schema: { tags, querystring: NO_QUERY, summary: 'The thresholds and segment rules the engine decides with', response: { 200: RISK_POLICY_SCHEMA, ...errorResponses() } } }, async (request) => {
    requireOperator(request, { write: false });
    const { policy } = risk;
    const { segments } = policy;
    return {
      object: 'risk_policy' as const,
      thresholds: policy.thresholds,
      low_value_usd_cents: policy.lowValueUsdCents,
      large_amount_usd_cents: policy.largeAmountUsdCents,
      cash_out_decision: policy.cashOutDecision,
      segments: {
        new_account_days: segments.newAccountDays,
        new_payments_min: segments.newPaymentsMin,
        trusted_account_days: segments.trustedAccountDays,
        trusted_payments_min: segments.trustedPaymentsMin,
        watch_refund_rate: segments.watchRefundRate,
        watch_codes_redeemed_elsewhere: segments.watchCodesRedeemedElsewhere,
      },
    };
  });

  app.get<{ Params: { id: string }; Querystring: { livemode?: string } }>(
    '/v1/risk/buyers/:id',
    {
      schema: {
        tags,
        summary: "A buyer's trust segment now, the thresholds it sets, and the history behind it",
        params: { type: 'object', additionalProperties: false, properties: { id: { type: 'string', pattern: '^buy_[A-Za-z0-9]{1,60}$' } }, required: ['id'] },
        querystring: { type: 'object', additionalProperties: false, properties: { livemode: { type: 'string', enum: ['true', 'false'] } } },
        response: { 200: BUYER_PROFILE_SCHEMA, ...errorResponses() },
      },
    },
    async (request) => {
      requireOperator(request, { write: false });
      const profile = await risk.buyerProfile(request.params.id, request.query.livemode !== 'false');
      return { object: 'risk_buyer_profile' as const, buyer: profile.buyerId, livemode: profile.livemode, segment: profile.segment, thresholds: profile.thresholds, signals: profile.signals };
    },
  );

  async function modelsJson(version?: number) {
    const loaded = risk.loadedModelVersion();
    const models = await risk.models(version);
    return {
      loaded,
      active: models.find((model) => model.active)?.version ?? null,
      data: models.map((model) => ({
        object: 'risk_model' as const,
        version: model.version,
        active: model.active,
        loaded: model.version === loaded,
        metrics: model.metrics,
        created: seconds(model.createdAt),
      })),
    };
  }

  app.get('/v1/risk/models', { schema: { tags, querystring: NO_QUERY, summary: 'The trained models (newest 100), which is active and which this process scores with', response: { 200: RISK_MODELS_SCHEMA, ...errorResponses() } } }, async (request) => {
    requireOperator(request, { write: false });
    const { loaded, active, data } = await modelsJson();
    return { object: 'list' as const, data, has_more: false, active_version: active, loaded_version: loaded };
  });

  app.post<{ Params: { version: string } }>(
    '/v1/risk/models/:version/activate',
    { schema: { tags, summary: 'Make a model the one every process scores with', params: MODEL_PARAMS, body: EMPTY_BODY, response: { 200: { $ref: 'RiskModel#' }, ...errorResponses() } } },
    async (request) => {
      requireOperator(request, { write: true });
      const version = Number(request.params.version);
      if (!(await risk.activateModel(version))) throw new ApiError('resource_missing', `No such risk model: version ${version}.`, 'version');
      const model = (await modelsJson(version)).data[0];
      if (!model) throw new ApiError('resource_missing', `No such risk model: version ${version}.`, 'version');
      return model;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/risk/decisions/:id',
    {
      schema: {
        tags,
        summary: 'Retrieve a recorded decision with its reasons, segment, signals and matched shadow rules',
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] },
        querystring: NO_QUERY,
        response: { 200: { $ref: 'RiskDecision#' }, ...errorResponses() },
      },
    },
    async (request) => {
      requireOperator(request, { write: false });
      const decision = await store.getDecision(db, request.params.id);
      if (!decision) throw new ApiError('resource_missing', `No such risk decision: ${request.params.id}.`, 'id');
      return decisionJson(decision);
    },
  );
}
