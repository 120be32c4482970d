// Child process of bench/api.ts: the baselines, on one plain Fastify instance on a loopback port, with
// logging off like the API server under load. Tells its URL to the parent over IPC; stops on SIGTERM.
//   GET /              hello-world, the baseline of the ratio.
//   POST /v1/payments  the floor: the benchmark's very requests, their bodies validated against the API's
//                      own schema and answered with a payment through the API's own response schema, with
//                      nothing else (no key, no Idempotency-Key, no risk, no database). What a payment costs
//                      above it is the platform's own work.
//   POST /durable/v1/payments
//                      the durable floor: the floor plus one row per payment made durable in PostgreSQL
//                      (DATABASE_URL) before the answer, rows grouped into one INSERT per commit with one
//                      commit in flight (DURABLE_FLOOR_CONNECTIONS for more, one per connection), as the
//                      ledger's serial connection groups its batches. No ledger, no
//                      Idempotency-Key, no risk, no event: what any design that keeps a payment in this
//                      PostgreSQL before answering pays at the least.
import Fastify from 'fastify';
import pg from 'pg';
import { BUYER_CONTEXT_SCHEMA, CREATE_PAYMENT_BODY, PAYMENT_SCHEMA } from '../src/payments/schemas.ts';
import { createMicroBatcher } from '../src/store/micro-batch.ts';

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
const routeSchema = { schema: { body: CREATE_PAYMENT_BODY, response: { 200: { $ref: 'Payment#' } } } };
app.post<{ Body: FloorBody }>('/v1/payments', routeSchema, async (request) => floorPayment(request.body));

const durableConnections = Number(process.env.DURABLE_FLOOR_CONNECTIONS ?? 1);
if (!Number.isInteger(durableConnections) || durableConnections < 1 || durableConnections > 64) {
  throw new RangeError('DURABLE_FLOOR_CONNECTIONS is a whole number from 1 to 64');
}
const durable = process.env.DATABASE_URL ? await durableRows(process.env.DATABASE_URL, durableConnections) : null;
if (durable) {
  app.post<{ Body: FloorBody }>('/durable/v1/payments', routeSchema, async (request) => {
    const payment = floorPayment(request.body);
    await durable.keep(payment);
    return payment;
  });
}

function floorPayment(body: FloorBody) {
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
}

/** One table and group commits (src/store/micro-batch.ts, as the Idempotency-Key's statements group
 * theirs): `keep(payment)` resolves once the payment's row is committed. Rows that arrive while every
 * connection has a commit in flight go together into the next one; `inFlight` connections
 * (DURABLE_FLOOR_CONNECTIONS) each carry one commit at a time. */
async function durableRows(connectionString: string, inFlight: number) {
  const pool = new pg.Pool({ connectionString, max: inFlight });
  await pool.query(`CREATE TABLE IF NOT EXISTS bench_floor_payments (
    id text PRIMARY KEY, customer text, amount bigint NOT NULL, currency text NOT NULL, line_items jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())`);
  const keep = createMicroBatcher(
    async (rows: Array<ReturnType<typeof floorPayment>>) => {
      await pool.query(
        `INSERT INTO bench_floor_payments (id, customer, amount, currency, line_items)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[])`,
        [
          rows.map((row) => row.id),
          rows.map((row) => row.customer),
          rows.map((row) => row.amount),
          rows.map((row) => row.currency),
          rows.map((row) => JSON.stringify(row.line_items)),
        ],
      );
      return rows.map(() => undefined);
    },
    { batchMax: 10_000, inFlightMax: inFlight },
  );
  return { keep, close: () => pool.end() };
}

const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.send?.({ type: 'listening', url });
process.once('SIGTERM', () => {
  void app.close().then(async () => {
    await durable?.close();
    process.exit(0);
  });
});
