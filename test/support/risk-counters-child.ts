// A separate process sharing risk counters through Redis, for src/risk/counters.test.ts. Usage:
//   node --import tsx test/support/risk-counters-child.ts <redis url> <prefix> <name> <events> <amount> <atMs>
// It connects and prints `ready`; on the line `go` it adds <events> events of <amount> to the shared
// keys, remembers itself as a member of the shared set and prints `added`; on the line `read` it prints
// one JSON line of what it reads back ({ totals, members }) and exits.
import { createInterface } from 'node:readline';
import { createRedisCounters } from '../../src/risk/redis-counters.ts';

const SHARED_WINDOW_KEYS = ['shared:buyer', 'shared:device'] as const;
const SHARED_SET_KEY = 'shared:devices';
const SHARED_MEMBERS_TTL_MS = 3_600_000;
const EVENTS_MAX = 10_000;

export interface ChildReading {
  totals: Awaited<ReturnType<ReturnType<typeof createRedisCounters>['windows']>>;
  members: Awaited<ReturnType<ReturnType<typeof createRedisCounters>['members']>>;
}

async function main(): Promise<void> {
  const [url, prefix, name, eventsText, amountText, atText] = process.argv.slice(2);
  if (url === undefined || prefix === undefined || name === undefined || eventsText === undefined || amountText === undefined || atText === undefined) {
    throw new Error('usage: risk-counters-child.ts <redis url> <prefix> <name> <events> <amount> <atMs>');
  }
  const events = Number(eventsText);
  const amount = Number(amountText);
  const atMs = Number(atText);
  if (!Number.isSafeInteger(events) || events < 0 || events > EVENTS_MAX) throw new Error(`events must be 0..${EVENTS_MAX}`);
  const counters = createRedisCounters({ url, prefix });
  await counters.get(['warm-up'], atMs);
  const lines = createInterface({ input: process.stdin });
  process.stdout.write('ready\n');
  for await (const line of lines) {
    if (line === 'go') {
      // One event per call, concurrently, so the two processes' increments interleave in Redis.
      const calls: Promise<void>[] = [];
      for (let event = 0; event < events; event += 1) {
        calls.push(counters.add(SHARED_WINDOW_KEYS.map((key) => ({ key, amount })), atMs + event));
      }
      await Promise.all(calls);
      await counters.addMembers([{ key: SHARED_SET_KEY, member: name }], atMs, SHARED_MEMBERS_TTL_MS);
      process.stdout.write('added\n');
    } else if (line === 'read') {
      const reading: ChildReading = {
        totals: await counters.windows(SHARED_WINDOW_KEYS, atMs + events),
        members: await counters.members([{ key: SHARED_SET_KEY, member: name }], atMs + events),
      };
      process.stdout.write(`${JSON.stringify(reading)}\n`);
      break;
    }
  }
  lines.close();
  await counters.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
