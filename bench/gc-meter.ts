// Garbage-collection pauses of this process, for the benchmarks' reports: how many, their sum, the
// longest, the longest scavenge (young generation) and the mark-compacts (old generation).
import { constants, PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks';

export interface GcFigures {
  count: number;
  totalMs: number;
  maxMs: number;
  minorMaxMs: number;
  majorCount: number;
  majorMaxMs: number;
}

const tenth = (ms: number) => Math.round(ms * 10) / 10;

/** Starts observing; `read` gives the pauses that began since the start or the last `reset`. Node hands
 * GC entries to observers from the event loop, so a stretch of work that never lets the loop turn (the
 * in-process PGlite answers every call through promises alone) delivers its entries only afterwards:
 * `read` lets the loop turn, and counts entries by when they began, not when they came. */
export function startGcMeter(): { reset(): void; read(): Promise<GcFigures>; stop(): void } {
  let entries: PerformanceEntry[] = [];
  let since = performance.now();
  const observer = new PerformanceObserver((list) => {
    entries.push(...list.getEntries());
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    reset: () => {
      since = performance.now();
      entries = entries.filter((entry) => entry.startTime >= since);
    },
    read: async () => {
      const until = performance.now();
      // Node queues a GC entry for JavaScript on one turn of the loop and hands it to observers on the
      // next; what reached the observer's buffer but not its callback is taken as well.
      for (let turn = 0; turn < 2; turn += 1) await new Promise((resolve) => setImmediate(resolve));
      entries.push(...observer.takeRecords());
      const figures: GcFigures = { count: 0, totalMs: 0, maxMs: 0, minorMaxMs: 0, majorCount: 0, majorMaxMs: 0 };
      for (const entry of entries) {
        if (entry.startTime < since || entry.startTime > until) continue;
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
      return { ...figures, totalMs: Math.round(figures.totalMs), maxMs: tenth(figures.maxMs), minorMaxMs: tenth(figures.minorMaxMs), majorMaxMs: tenth(figures.majorMaxMs) };
    },
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
