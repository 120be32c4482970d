// The simulator values traffic in US cents with the same fixed reference rates as the engine, so the
// harness's "fraudulent value caught" and the engine's velocity sums agree on what an amount is worth.
// There is one table, in src/risk/rates.ts; this module only gives the simulator a local import path.
export { usdCents } from '../rates.ts';
