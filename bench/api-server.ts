// Child process of bench/api.ts: the Micropay server exactly as `micropay start` runs it (startServer:
// openRuntime with its workers, buildApp, listen), configured from the environment the parent passes.
// It tells its URL to the parent over IPC and stops cleanly on SIGTERM.
//
// For the report of where the time goes it also counts the SQL statements it sends, per kind
// (api-statements.ts), and its own CPU time. The parent asks with { type: 'stats' } and resets with
// { type: 'reset' }.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/config.ts';
import { startServer } from '../src/server/server.ts';
import { installStatementCounter, type StatementStats } from './api-statements.ts';
import { startGcMeter } from './gc-meter.ts';

if (!process.send) {
  process.stderr.write('bench/api-server.ts is started by bench/api.ts (npm run bench:api), not by hand\n');
  process.exit(2);
}

const statements = installStatementCounter();
let cpuAtReset = process.cpuUsage();
let timeAtReset = performance.now();
// Where a request's tail may come from in the server itself: timers run late (a long task) and GC pauses.
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
const gc = startGcMeter();
const ms = (nanoseconds: number) => Math.round(nanoseconds / 1e4) / 100;

const { url } = await startServer(loadConfig(process.env));
process.send?.({ type: 'listening', url });

process.on('message', (message: { type?: string }) => {
  if (message.type === 'reset') {
    statements.clear();
    loopDelay.reset();
    gc.reset();
    cpuAtReset = process.cpuUsage();
    timeAtReset = performance.now();
    process.send?.({ type: 'reset-done' });
  } else if (message.type === 'stats') {
    const cpu = process.cpuUsage(cpuAtReset);
    const stats: Omit<StatementStats, 'gc'> = {
      statements: Object.fromEntries(statements),
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      elapsedMs: performance.now() - timeAtReset,
      eventLoopDelay: { p50Ms: ms(loopDelay.percentile(50)), p99Ms: ms(loopDelay.percentile(99)), maxMs: ms(loopDelay.max) },
    };
    void gc.read().then((figures) => process.send?.({ type: 'stats', stats: { ...stats, gc: figures } satisfies StatementStats }));
  }
});
