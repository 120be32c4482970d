// Garbage-collection pauses of this process, for the benchmarks' reports: how many, their sum, the
// longest, the longest scavenge (young generation) and the mark-compacts (old generation).
import { constants, PerformanceObserver } from 'node:perf_hooks';

export interface GcFigures {
  count: number;
  totalMs: number;
  maxMs: number;
  minorMaxMs: number;
  majorCount: number;
  majorMaxMs: number;
}

const tenth = (ms: number) => Math.round(ms * 10) / 10;

/** Starts observing; `read` gives the pauses since the start or the last `reset`. */
export function startGcMeter(): { reset(): void; read(): GcFigures; stop(): void } {
  const empty = (): GcFigures => ({ count: 0, totalMs: 0, maxMs: 0, minorMaxMs: 0, majorCount: 0, majorMaxMs: 0 });
  let figures = empty();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      figures.count += 1;
      figures.totalMs += entry.duration;
      figures.maxMs = Math.max(figures.maxMs, entry.duration);
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) figures.minorMaxMs = Math.max(figures.minorMaxMs, entry.duration);
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        figures.majorCount += 1;
        figures.majorMaxMs = Math.max(figures.majorMaxMs, entry.duration);
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    reset: () => {
      figures = empty();
    },
    read: () => ({
      count: figures.count,
      totalMs: Math.round(figures.totalMs),
      maxMs: tenth(figures.maxMs),
      minorMaxMs: tenth(figures.minorMaxMs),
      majorCount: figures.majorCount,
      majorMaxMs: tenth(figures.majorMaxMs),
    }),
    stop: () => observer.disconnect(),
  };
}

/** One line of a report: the pauses over `seconds`. */
export function describeGc(gc: GcFigures, seconds: number): string {
  return (
    `GC ${gc.count} pauses, ${gc.totalMs} ms in all (${(((gc.totalMs / 1000) / Math.max(seconds, 1e-9)) * 100).toFixed(1)} % of the time), ` +
    `longest ${gc.maxMs} ms (scavenges up to ${gc.minorMaxMs} ms; ${gc.majorCount} mark-compacts, up to ${gc.majorMaxMs} ms)`
  );
}
