// JSON schemas of the risk engine's operator routes (/v1/risk): they validate requests (unknown fields
// refused), shape responses (nothing undeclared leaves the server) and make the OpenAPI document.
import { PROFILE_SIGNALS, SIGNALS } from './model.ts';
import { RULE_SOURCE_LENGTH_MAX } from './rules.ts';

/** Rule and list names, as the database's CHECK constraints have them. */
export const NAME_PATTERN = '^[a-z][a-z0-9_]{0,62}$';
export const LIST_VALUE_LENGTH_MAX = 200;
export const NOTE_LENGTH_MAX = 500;
export const DESCRIPTION_LENGTH_MAX = 500;
export const POSITION_MAX = 1_000_000;
export const BACKTEST_LIMIT_DEFAULT = 10_000;
export const BACKTEST_LIMIT_MAX = 50_000;
/** Items shown per list by GET /v1/risk/lists; `item_count` tells how many the list holds. */
export const LIST_ITEMS_SHOWN_MAX = 100;

const VERDICT = { type: 'string', enum: ['allow', 'challenge', 'review', 'block'] } as const;
const MODE = { type: 'string', enum: ['live', 'shadow', 'disabled'] } as const;
const UNIX_SECONDS = { type: 'integer', description: 'Unix seconds.' } as const;
const UNIX_SECONDS_OR_NULL = { type: ['integer', 'null'], description: 'Unix seconds.' } as const;
const REASONS = {
  type: 'array',
  items: {
    type: 'object',
    properties: { code: { type: 'string' }, message: { type: 'string' } },
    required: ['code', 'message'],
  },
} as const;

export const RULE_ID_PARAMS = {
  type: 'object',
  properties: { id: { type: 'string', pattern: NAME_PATTERN, description: 'Lower-case letters, digits and _, starting with a letter, at most 63.' } },
  required: ['id'],
} as const;

export const RISK_RULE_SCHEMA = {
  $id: 'RiskRule',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['risk_rule'] },
    version: { type: 'integer', description: 'Starts at 1; every change adds a version.' },
    source: { type: 'string' },
    action: VERDICT,
    mode: MODE,
    position: { type: 'integer', description: 'Evaluation order, lowest first (ties by id).' },
    description: { type: ['string', 'null'] },
    created: { ...UNIX_SECONDS, description: 'When this version was saved (Unix seconds).' },
  },
  required: ['id', 'object', 'version', 'source', 'action', 'mode', 'position', 'description', 'created'],
} as const;

export const PUT_RULE_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    source: { type: 'string', minLength: 1, maxLength: RULE_SOURCE_LENGTH_MAX, description: 'The rule, in the language of docs/risk-rules.md.' },
    mode: { ...MODE, description: 'live acts; shadow is recorded only; disabled is not evaluated (how a rule is deleted).' },
    position: { type: 'integer', minimum: -POSITION_MAX, maximum: POSITION_MAX, description: 'The current version\'s when absent (0 for a new rule).' },
    description: { type: ['string', 'null'], maxLength: DESCRIPTION_LENGTH_MAX, description: 'The current version\'s when absent; null clears it.' },
    expected_version: { type: 'integer', minimum: 1, maximum: 2_147_483_647, description: 'The version the change is based on: 409 concurrent_modification when the rule is at another version (or does not exist).' },
  },
  required: ['source', 'mode'],
} as const;

export const BACKTEST_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    source: { type: 'string', minLength: 1, maxLength: RULE_SOURCE_LENGTH_MAX },
    since: { type: 'integer', minimum: 0, maximum: 253_402_300_799, description: 'Unix seconds: only decisions made at or after it.' },
    limit: { type: 'integer', minimum: 1, maximum: BACKTEST_LIMIT_MAX, description: `Decisions read at most, oldest first (default ${BACKTEST_LIMIT_DEFAULT}).` },
  },
  required: ['source'],
} as const;

const SHARE = { type: ['number', 'null'], description: 'null when the denominator is 0.' } as const;

export const BACKTEST_RESULT_SCHEMA = {
  $id: 'RiskBacktest',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['risk_backtest'] },
    action: VERDICT,
    decisions: { type: 'integer', description: 'Recorded decisions (with signals) read.' },
    matched: { type: 'integer' },
    labelled_fraud: { type: 'integer' },
    fraud_matched: { type: 'integer' },
    labelled_good: { type: 'integer' },
    good_matched: { type: 'integer' },
    matched_by_recorded_decision: {
      type: 'object',
      properties: { allow: { type: 'integer' }, challenge: { type: 'integer' }, review: { type: 'integer' }, block: { type: 'integer' } },
      required: ['allow', 'challenge', 'review', 'block'],
    },
    match_rate: { ...SHARE, description: 'matched / decisions.' },
    precision: { ...SHARE, description: 'fraud_matched / (fraud_matched + good_matched): of the labelled decisions matched, the share that was fraud.' },
    recall: { ...SHARE, description: 'fraud_matched / labelled_fraud: the share of labelled fraud the rule matches.' },
    false_positive_rate: { ...SHARE, description: 'good_matched / labelled_good: the share of labelled good decisions the rule matches.' },
  },
  required: [
    'object', 'action', 'decisions', 'matched', 'labelled_fraud', 'fraud_matched', 'labelled_good', 'good_matched',
    'matched_by_recorded_decision', 'match_rate', 'precision', 'recall', 'false_positive_rate',
  ],
} as const;

export const LIST_PARAMS = {
  type: 'object',
  properties: { list: { type: 'string', pattern: NAME_PATTERN } },
  required: ['list'],
} as const;

export const LIST_ITEM_PARAMS = {
  type: 'object',
  properties: {
    list: { type: 'string', pattern: NAME_PATTERN },
    value: { type: 'string', minLength: 1, maxLength: LIST_VALUE_LENGTH_MAX },
  },
  required: ['list', 'value'],
} as const;

export const ADD_LIST_ITEM_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    value: { type: 'string', minLength: 1, maxLength: LIST_VALUE_LENGTH_MAX, description: 'Compared exactly with the signal (a buyer id, device id, IP address, BIN, phone number, ...).' },
    note: { type: 'string', maxLength: NOTE_LENGTH_MAX, description: 'Why the value is listed.' },
  },
  required: ['value'],
} as const;

export const RISK_LIST_ITEM_SCHEMA = {
  $id: 'RiskListItem',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['risk_list_item'] },
    list: { type: 'string' },
    value: { type: 'string' },
    note: { type: ['string', 'null'] },
    created: UNIX_SECONDS,
  },
  required: ['object', 'list', 'value', 'note', 'created'],
} as const;

export const DELETED_LIST_ITEM_SCHEMA = {
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['risk_list_item'] },
    list: { type: 'string' },
    value: { type: 'string' },
    deleted: { type: 'boolean', enum: [true] },
  },
  required: ['object', 'list', 'value', 'deleted'],
} as const;

export const RISK_LISTS_SCHEMA = {
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['list'] },
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          object: { type: 'string', enum: ['risk_list'] },
          name: { type: 'string' },
          built_in: { type: 'boolean', description: 'An allow or block list the engine consults before any rule.' },
          item_count: { type: 'integer' },
          items: { type: 'array', items: { $ref: 'RiskListItem#' } },
          has_more: { type: 'boolean', description: `More than the ${LIST_ITEMS_SHOWN_MAX} items shown.` },
        },
        required: ['object', 'name', 'built_in', 'item_count', 'items', 'has_more'],
      },
    },
    has_more: { type: 'boolean' },
  },
  required: ['object', 'data', 'has_more'],
} as const;

export const REVIEW_STATUSES = ['open', 'claimed', 'approved', 'rejected'] as const;

export const RISK_REVIEW_SCHEMA = {
  $id: 'RiskReview',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['risk_review'] },
    livemode: { type: 'boolean' },
    status: { type: 'string', enum: [...REVIEW_STATUSES] },
    subject_type: { type: 'string', description: 'payment' },
    subject: { type: 'string', description: 'The id of the held movement.' },
    merchant: { type: ['string', 'null'] },
    buyer: { type: ['string', 'null'] },
    amount: { type: 'integer' },
    currency: { type: 'string' },
    reasons: REASONS,
    risk_decision: { type: 'string' },
    claimed_by: { type: ['string', 'null'], description: 'The id of the operator key that claimed it.' },
    claimed_at: UNIX_SECONDS_OR_NULL,
    decided_at: UNIX_SECONDS_OR_NULL,
    note: { type: ['string', 'null'] },
    created: UNIX_SECONDS,
  },
  required: [
    'id', 'object', 'livemode', 'status', 'subject_type', 'subject', 'merchant', 'buyer', 'amount', 'currency', 'reasons',
    'risk_decision', 'claimed_by', 'claimed_at', 'decided_at', 'note', 'created',
  ],
} as const;

export const LIST_REVIEWS_QUERY_PROPERTIES = {
  status: { type: 'string', enum: [...REVIEW_STATUSES] },
} as const;

export const DECIDE_REVIEW_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { note: { type: 'string', maxLength: NOTE_LENGTH_MAX, description: 'Why, for the record.' } },
} as const;

export const EMPTY_BODY = { type: 'object', additionalProperties: false, properties: {} } as const;
/** Routes that take no query parameters refuse any (parameter_unknown) rather than ignore them. */
export const NO_QUERY = EMPTY_BODY;

const THRESHOLDS = {
  type: 'object',
  properties: { challenge: { type: 'number' }, review: { type: 'number' }, block: { type: 'number' } },
  required: ['challenge', 'review', 'block'],
} as const;

export const RISK_POLICY_SCHEMA = {
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['risk_policy'] },
    thresholds: {
      type: 'object',
      description: "Model probabilities at or above which a buyer's payment is at least challenged, reviewed, blocked, by segment.",
      properties: { new: THRESHOLDS, established: THRESHOLDS, trusted: THRESHOLDS, watch: THRESHOLDS },
      required: ['new', 'established', 'trusted', 'watch'],
    },
    low_value_usd_cents: { type: 'integer', description: 'A trusted buyer paying less is never challenged.' },
    large_amount_usd_cents: { type: 'integer', description: 'A payment above it from a device new to the buyer is at least challenged.' },
    cash_out_decision: { type: 'string', enum: ['review', 'block'] },
    segments: {
      type: 'object',
      properties: {
        new_account_days: { type: 'number' },
        new_payments_min: { type: 'number' },
        trusted_account_days: { type: 'number' },
        trusted_payments_min: { type: 'number' },
        watch_refund_rate: { type: 'number' },
        watch_codes_redeemed_elsewhere: { type: 'number' },
      },
      required: ['new_account_days', 'new_payments_min', 'trusted_account_days', 'trusted_payments_min', 'watch_refund_rate', 'watch_codes_redeemed_elsewhere'],
    },
  },
  required: ['object', 'thresholds', 'low_value_usd_cents', 'large_amount_usd_cents', 'cash_out_decision', 'segments'],
} as const;

export const MODEL_PARAMS = {
  type: 'object',
  properties: { version: { type: 'string', pattern: '^[1-9][0-9]{0,8}$' } },
  required: ['version'],
} as const;

export const RISK_MODEL_SCHEMA = {
  $id: 'RiskModel',
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['risk_model'] },
    version: { type: 'integer' },
    active: { type: 'boolean', description: 'The model every process scores with.' },
    loaded: { type: 'boolean', description: 'The model the process that answered scores with (it follows `active` within the reload interval).' },
    // Metrics are whatever the training run measured (AUC, precision at thresholds, rows), kept as written.
    metrics: { type: 'object', additionalProperties: true },
    created: UNIX_SECONDS,
  },
  required: ['object', 'version', 'active', 'loaded', 'metrics', 'created'],
} as const;

export const RISK_MODELS_SCHEMA = {
  type: 'object',
  properties: {
    object: { type: 'string', enum: ['list'] },
    data: { type: 'array', items: { $ref: 'RiskModel#' } },
    has_more: { type: 'boolean' },
    active_version: { type: ['integer', 'null'] },
    loaded_version: { type: ['integer', 'null'] },
  },
  required: ['object', 'data', 'has_more', 'active_version', 'loaded_version'],
} as const;

const SIGNAL_PROPERTIES = Object.fromEntries(
  Object.entries(SIGNALS).map(([name, definition]) => [name, { type: [definition.type, 'null'], description: definition.description }]),
);

export const RISK_DECISION_SCHEMA = {
  $id: 'RiskDecision',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['risk_decision'] },
    livemode: { type: 'boolean' },
    action: { type: 'string', description: 'payment, tip, top_up, refund or payout' },
    subject_type: { type: 'string' },
    subject: { type: 'string' },
    merchant: { type: ['string', 'null'] },
    buyer: { type: ['string', 'null'] },
    amount: { type: ['integer', 'null'] },
    currency: { type: ['string', 'null'] },
    decision: VERDICT,
    score: { type: ['number', 'null'], description: "The learned model's fraud probability, or null." },
    segment: { type: ['string', 'null'] },
    reasons: REASONS,
    signals: {
      anyOf: [{ type: 'null' }, { type: 'object', properties: SIGNAL_PROPERTIES }],
      description: 'What the engine computed, by signal name (null for decisions made without the engine).',
    },
    shadow: {
      type: 'array',
      description: 'Shadow rules that matched: recorded, not acted on.',
      items: {
        type: 'object',
        properties: { rule: { type: 'string' }, version: { type: 'integer' }, action: VERDICT },
        required: ['rule', 'version', 'action'],
      },
    },
    created: UNIX_SECONDS,
  },
  required: [
    'id', 'object', 'livemode', 'action', 'subject_type', 'subject', 'merchant', 'buyer', 'amount', 'currency', 'decision',
    'score', 'segment', 'reasons', 'signals', 'shadow', 'created',
  ],
} as const;

/** GET /v1/risk/buyers/:id: where a buyer stands. */
export const BUYER_PROFILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    object: { type: 'string', enum: ['risk_buyer_profile'] },
    buyer: { type: 'string' },
    livemode: { type: 'boolean' },
    segment: { type: 'string', enum: ['new', 'established', 'trusted', 'watch'] },
    thresholds: {
      type: 'object',
      additionalProperties: false,
      properties: { challenge: { type: 'number' }, review: { type: 'number' }, block: { type: 'number' } },
      required: ['challenge', 'review', 'block'],
    },
    signals: {
      type: 'object',
      additionalProperties: false,
      description: 'The history behind the segment (rates are shares, amounts US cents).',
      properties: Object.fromEntries(
        PROFILE_SIGNALS.map((name) => [name, { type: ['number', 'null'] }]),
      ),
    },
  },
  required: ['object', 'buyer', 'livemode', 'segment', 'thresholds', 'signals'],
} as const;
