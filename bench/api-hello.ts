// Child process of bench/api.ts: the baselines, on one plain Fastify instance on a loopback port, with
// logging off like the API server under load. Tells its URL to the parent over IPC; stops on SIGTERM.
//   GET /              hello-world, the baseline of the ratio.
//   POST /v1/payments  the floor: the benchmark's very requests, their bodies validated against the API's
//                      own schema and answered with a payment through the API's own response schema, with
//                      nothing else (no key, no Idempotency-Key, no risk, no database). What a payment costs
//                      above it is the platform's own work.
import Fastify from 'fastify';
import { BUYER_CONTEXT_SCHEMA, CREATE_PAYMENT_BODY, PAYMENT_SCHEMA } from '../src/payments/schemas.ts';

interface FloorBody {
  customer?: string;
  amount: number;
  currency: string;
  description?: string;
  line_items?: Array<{ description: string; category: string; unit_amount: number; quantity?: number }>;
}

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
app.addSchema(BUYER_CONTEXT_SCHEMA);
app.addSchema(PAYMENT_SCHEMA);
let count = 0;
app.post<{ Body: FloorBody }>('/v1/payments', { schema: { body: CREATE_PAYMENT_BODY, response: { 200: { $ref: 'Payment#' } } } }, async (request) => {
  const body = request.body;
  count += 1;
  return {
    id: `pay_floor${count}`,
    object: 'payment',
    livemode: false,
    customer: body.customer ?? null,
    amount: body.amount,
    currency: body.currency,
    description: body.description ?? null,
    line_items: (body.line_items ?? []).map((item) => ({ ...item, quantity: item.quantity ?? 1 })),
    capture_method: 'automatic',
    status: 'succeeded',
    amount_captured: body.amount,
    amount_refunded: 0,
    points_redeemed: 0,
    amount_paid_in_points: 0,
    application_fee_amount: 0,
    capture_before: null,
    risk_decision: null,
    last_payment_error: null,
    cancellation_reason: null,
    metadata: {},
    created: Math.floor(Date.now() / 1000),
  };
});
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.send?.({ type: 'listening', url });
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
