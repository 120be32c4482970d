// npm run bench:risk: the risk engine against seeded, labelled traffic (src/risk/simulate/experiment.ts:
// a rules-only baseline, training on the first weeks, the full engine on the rest). Progress goes to
// stderr; the last line on stdout is one JSON object.
import { parseArgs } from 'node:util';
import { DEFAULT_POLICY, type RiskPolicy } from '../src/risk/engine.ts';
import { runExperiment } from '../src/risk/simulate/experiment.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    weeks: { type: 'string' },
    buyers: { type: 'string' },
    'train-weeks': { type: 'string' },
    /** JSON merged over the default policy's thresholds, e.g. '{"new":{"challenge":0.2,"review":0.6,"block":0.9}}'. */
    thresholds: { type: 'string' },
    /** JSON merged over the rest of the default policy, e.g. '{"modelExemptionBelow":0.001}'. */
    policy: { type: 'string' },
    /** Counters of the full engine: memory (default) or redis (REDIS_URL, default redis://127.0.0.1:6379). */
    counters: { type: 'string', default: 'memory' },
  },
  strict: true,
});

if (args.counters !== 'memory' && args.counters !== 'redis') {
  process.stderr.write(`--counters must be memory or redis, got "${args.counters}"\n`);
  process.exit(2);
}
const weeks = Number(args.weeks ?? (args.quick ? 6 : 8));
const policy: RiskPolicy = {
  ...DEFAULT_POLICY,
  ...(args.policy ? (JSON.parse(args.policy) as Partial<RiskPolicy>) : {}),
  thresholds: { ...DEFAULT_POLICY.thresholds, ...(args.thresholds ? (JSON.parse(args.thresholds) as Partial<RiskPolicy['thresholds']>) : {}) },
};

runExperiment({
  seed: Number(args.seed),
  weeks,
  buyers: Number(args.buyers ?? (args.quick ? 6_000 : 20_000)),
  trainWeeks: Number(args['train-weeks'] ?? Math.round(weeks * 0.6)),
  policy,
  redisUrl: args.counters === 'redis' ? (process.env.REDIS_URL || 'redis://127.0.0.1:6379') : undefined,
  progress: (message) => process.stderr.write(`[bench:risk] ${message}\n`),
})
  .then(({ result }) => process.stdout.write(`${JSON.stringify(result)}\n`))
  .catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
