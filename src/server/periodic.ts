// A task run every `intervalMs`, never twice at once, stopped cleanly at shutdown.
import type { Logger } from '../log/logger.ts';

export interface PeriodicTask {
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startPeriodic(name: string, intervalMs: number, task: () => Promise<number>, logger?: Logger): PeriodicTask {
  let running: Promise<number> | null = null;
  let stopped = false;
  const runOnce = () => {
    running ??= task().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => {
    if (running || stopped) return;
    runOnce().then(
      (count) => count > 0 && logger?.info({ task: name, count }, `${name} done`),
      (error: unknown) => logger?.error({ err: error, task: name }, `${name} failed`),
    );
  }, intervalMs);
  timer.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}

/** Runs each maintenance task whatever the others do: a task that fails is logged with its name, and the
 * rest still run (one failing task must not stop, say, points expiry or the session sweeps). */
export async function runEach(logger: Logger, tasks: Record<string, () => Promise<number>>): Promise<number> {
  let done = 0;
  for (const [name, task] of Object.entries(tasks)) {
    try {
      done += await task();
    } catch (error) {
      logger.error({ err: error, task: name }, `maintenance: ${name} failed; the other tasks go on`);
    }
  }
  return done;
}
