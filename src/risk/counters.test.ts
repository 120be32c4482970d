// The risk counters: one suite run against the in-process store and against Redis (which CI starts:
// an unreachable Redis fails these tests rather than skipping them), then what only one of them has
// (the memory store's key bound, Redis pruning and expiry) and two processes sharing counters through
// Redis. Each Redis test uses its own random key prefix and deletes its keys at the end.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createMemoryCounters, emptyTotals, WINDOW_LEVELS, type RiskCounters, type WindowTotals } from './counters.ts';
import { createRedisCounters } from './redis-counters.ts';
import { seededRandom } from '../../test/support/random.ts';
import type { ChildReading } from '../../test/support/risk-counters-child.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD_SCRIPT = fileURLToPath(new URL('../../test/support/risk-counters-child.ts', import.meta.url));
const SECOND_MS = 1_000;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Midnight UTC, so T starts a bucket of every level and window edges fall exactly on T + window. */
const T = Date.UTC(2025, 0, 6);

type Kind = 'memory' | 'redis';

interface Opened {
  counters: RiskCounters;
  prefix: string;
  /** Closes the store and, for Redis, deletes every key under the test's prefix. */
  cleanup(): Promise<void>;
}

/** A Redis client that fails at once when Redis is unreachable, for checks and cleanup. */
async function connectAdmin(): Promise<Redis> {
  const admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2_000 });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    await admin.ping();
  } catch (error) {
    admin.disconnect();
    throw new Error(`Redis is not reachable at ${REDIS_URL} (set REDIS_URL; CI starts Redis): ${String(error)}`);
  }
  return admin;
}

async function deleteKeys(admin: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  for (let page = 0; page < 10_000; page += 1) {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
    if (keys.length > 0) await admin.del(...keys);
    cursor = next;
    if (cursor === '0') return;
  }
  throw new Error(`keys under ${prefix} were not all deleted`);
}

async function open(kind: Kind, options: { membersMax?: number; keysMax?: number } = {}): Promise<Opened> {
  if (kind === 'memory') {
    const counters = createMemoryCounters(options);
    return { counters, prefix: '', cleanup: () => counters.close() };
  }
  const prefix = `micropay:test:risk:${randomBytes(6).toString('hex')}:`;
  const counters = createRedisCounters({ url: REDIS_URL, prefix, membersMax: options.membersMax });
  return {
    counters,
    prefix,
    async cleanup() {
      await counters.close();
      const admin = await connectAdmin();
      try {
        await deleteKeys(admin, prefix);
      } finally {
        admin.disconnect();
      }
    },
  };
}

/** Runs `body` against a fresh store of `kind` and cleans up after it, whether it passed or not. */
async function withCounters(kind: Kind, body: (counters: RiskCounters, opened: Opened) => Promise<void>, options: { membersMax?: number; keysMax?: number } = {}): Promise<void> {
  const opened = await open(kind, options);
  try {
    await body(opened.counters, opened);
  } finally {
    await opened.cleanup();
  }
}

function totals(values: Partial<WindowTotals>): WindowTotals {
  return { ...emptyTotals(), ...values };
}

/** The totals the bucketing rule gives for events [atMs, amount] read at `readAtMs`, counted one by one. */
function expectedTotals(events: readonly (readonly [number, number])[], readAtMs: number): WindowTotals {
  const result = emptyTotals();
  const names = [['count1m', 'sum1m'], ['count1h', 'sum1h'], ['count1d', 'sum1d'], ['count30d', 'sum30d']] as const;
  WINDOW_LEVELS.forEach((level, position) => {
    const current = Math.floor(readAtMs / level.bucketMs);
    const [countName, sumName] = names[position]!;
    for (const [atMs, amount] of events) {
      const index = Math.floor(atMs / level.bucketMs);
      if (index > current - level.buckets && index <= current) {
        result[countName] += 1;
        result[sumName] += amount;
      }
    }
  });
  return result;
}

function requireRedis(): void {
  before(async () => {
    const admin = await connectAdmin();
    admin.disconnect();
  });
}

for (const kind of ['memory', 'redis'] as const) {
  describe(`risk counters (${kind})`, () => {
    if (kind === 'redis') requireRedis();

    test('an event counts in each window until that window has passed, at the edges of each window', async () => {
      await withCounters(kind, async (counters) => {
        await counters.add([{ key: 'buyer:1', amount: 250 }], T);
        const all = { count1m: 1, sum1m: 250, count1h: 1, sum1h: 250, count1d: 1, sum1d: 250, count30d: 1, sum30d: 250 };
        const readings: [number, WindowTotals][] = [
          [T, totals(all)],
          [T + MINUTE_MS - 1, totals(all)],
          [T + MINUTE_MS, totals({ ...all, count1m: 0, sum1m: 0 })],
          [T + HOUR_MS - 1, totals({ ...all, count1m: 0, sum1m: 0 })],
          [T + HOUR_MS, totals({ count1d: 1, sum1d: 250, count30d: 1, sum30d: 250 })],
          [T + DAY_MS - 1, totals({ count1d: 1, sum1d: 250, count30d: 1, sum30d: 250 })],
          [T + DAY_MS, totals({ count30d: 1, sum30d: 250 })],
          [T + 30 * DAY_MS - 1, totals({ count30d: 1, sum30d: 250 })],
          [T + 30 * DAY_MS, totals({})],
        ];
        for (const [atMs, expected] of readings) {
          assert.deepEqual(await counters.windows(['buyer:1'], atMs), [expected], `read at T + ${atMs - T} ms`);
        }
      });
    });

    test('a window starts at its oldest bucket, so an event late in a bucket leaves the window early', async () => {
      await withCounters(kind, async (counters) => {
        // The event lies at the end of the 10 s bucket [T, T + 10 s): it leaves the 1-minute window
        // when that bucket does, 50 s and 1 ms after it happened.
        await counters.add([{ key: 'buyer:1', amount: 5 }], T + 9_999);
        const [justBefore] = await counters.windows(['buyer:1'], T + MINUTE_MS - 1);
        const [atEdge] = await counters.windows(['buyer:1'], T + MINUTE_MS);
        assert.equal(justBefore?.count1m, 1);
        assert.equal(atEdge?.count1m, 0);
        assert.equal(atEdge?.count1h, 1);
      });
    });

    test('amounts are summed per window and per key, several keys in one call', async () => {
      await withCounters(kind, async (counters) => {
        // Reads follow adds in time, as they do in scoring.
        await counters.add([{ key: 'buyer:1', amount: 100 }, { key: 'device:1', amount: 1 }], T);
        await counters.add([{ key: 'buyer:1', amount: 200 }, { key: 'device:1', amount: 1 }], T + 30 * SECOND_MS);
        // One key twice in a call counts twice.
        await counters.add([{ key: 'ip:1', amount: 7 }, { key: 'ip:1', amount: 3 }], T + 30 * SECOND_MS);
        assert.deepEqual(await counters.windows(['buyer:1', 'device:1', 'ip:1', 'unknown'], T + 31 * SECOND_MS), [
          totals({ count1m: 2, sum1m: 300, count1h: 2, sum1h: 300, count1d: 2, sum1d: 300, count30d: 2, sum30d: 300 }),
          totals({ count1m: 2, sum1m: 2, count1h: 2, sum1h: 2, count1d: 2, sum1d: 2, count30d: 2, sum30d: 2 }),
          totals({ count1m: 2, sum1m: 10, count1h: 2, sum1h: 10, count1d: 2, sum1d: 10, count30d: 2, sum30d: 10 }),
          totals({}),
        ]);
        await counters.add([{ key: 'buyer:1', amount: 400 }, { key: 'device:1', amount: 1 }], T + 5 * MINUTE_MS);
        assert.deepEqual(await counters.windows(['buyer:1'], T + 5 * MINUTE_MS + SECOND_MS), [
          totals({ count1m: 1, sum1m: 400, count1h: 3, sum1h: 700, count1d: 3, sum1d: 700, count30d: 3, sum30d: 700 }),
        ]);
        await counters.add([{ key: 'buyer:1', amount: 800 }, { key: 'device:1', amount: 1 }], T + 2 * HOUR_MS);
        assert.deepEqual(await counters.windows(['buyer:1'], T + 2 * HOUR_MS), [
          totals({ count1m: 1, sum1m: 800, count1h: 1, sum1h: 800, count1d: 4, sum1d: 1_500, count30d: 4, sum30d: 1_500 }),
        ]);
        await counters.add([{ key: 'buyer:1', amount: 1_600 }, { key: 'device:1', amount: 1 }], T + 3 * DAY_MS);
        assert.deepEqual(await counters.windows(['buyer:1', 'device:1', 'ip:1'], T + 3 * DAY_MS), [
          totals({ count1m: 1, sum1m: 1_600, count1h: 1, sum1h: 1_600, count1d: 1, sum1d: 1_600, count30d: 5, sum30d: 3_100 }),
          totals({ count1m: 1, sum1m: 1, count1h: 1, sum1h: 1, count1d: 1, sum1d: 1, count30d: 5, sum30d: 5 }),
          totals({ count30d: 2, sum30d: 10 }),
        ]);
        assert.deepEqual(await counters.windows([], T), []);
      });
    });

    test('events recorded slightly out of order land in their own bucket', async () => {
      await withCounters(kind, async (counters) => {
        await counters.add([{ key: 'card:1', amount: 20 }], T + 20 * SECOND_MS);
        await counters.add([{ key: 'card:1', amount: 5 }], T + 5 * SECOND_MS);
        const [both] = await counters.windows(['card:1'], T + MINUTE_MS - 1);
        const [later] = await counters.windows(['card:1'], T + MINUTE_MS);
        assert.equal(both?.count1m, 2);
        assert.equal(both?.sum1m, 25);
        assert.equal(later?.count1m, 1);
        assert.equal(later?.sum1m, 20);
        assert.equal(later?.sum1h, 25);
      });
    });

    test('events older than 30 days are gone', async () => {
      await withCounters(kind, async (counters) => {
        await counters.add([{ key: 'buyer:1', amount: 100 }], T);
        await counters.add([{ key: 'buyer:1', amount: 40 }], T + 31 * DAY_MS);
        assert.deepEqual(await counters.windows(['buyer:1'], T + 31 * DAY_MS), [
          totals({ count1m: 1, sum1m: 40, count1h: 1, sum1h: 40, count1d: 1, sum1d: 40, count30d: 1, sum30d: 40 }),
        ]);
        assert.deepEqual(await counters.windows(['buyer:1'], T + 62 * DAY_MS), [totals({})]);
        // Free events count too, and their zero sums leave the windows like any other.
        await counters.add([{ key: 'free:1', amount: 0 }], T);
        await counters.add([{ key: 'free:1', amount: 0 }], T + 2 * MINUTE_MS);
        await counters.add([{ key: 'free:1', amount: 0 }], T + 31 * DAY_MS);
        assert.deepEqual(await counters.windows(['free:1'], T + 31 * DAY_MS), [totals({ count1m: 1, count1h: 1, count1d: 1, count30d: 1 })]);
      });
    });

    test('weeks of simulated time agree with counting each event by the bucket rule', async () => {
      const seed = Math.floor(Math.random() * 2 ** 31);
      const random = seededRandom(seed);
      await withCounters(kind, async (counters) => {
        const events: [number, number][] = [];
        let atMs = T + Math.floor(random() * DAY_MS);
        // About 45 days of one busy key: gaps of up to 20 minutes, bursts of a few seconds.
        for (let event = 0; event < 5_000; event += 1) {
          atMs += random() < 0.2 ? Math.floor(random() * 5 * SECOND_MS) : Math.floor(random() * 20 * MINUTE_MS);
          const amount = Math.floor(random() * 10_000);
          events.push([atMs, amount]);
          await counters.add([{ key: 'merchant:1', amount }], atMs);
          if (event % 250 === 249) {
            const readAtMs = atMs + Math.floor(random() * 2 * MINUTE_MS);
            assert.deepEqual(await counters.windows(['merchant:1'], readAtMs), [expectedTotals(events, readAtMs)], `seed ${seed}, event ${event}`);
          }
        }
      });
    });

    test('a member is new until remembered, sets count distinct live members, and expire by atMs', async () => {
      await withCounters(kind, async (counters) => {
        assert.deepEqual(await counters.members([{ key: 'buyer:1:devices', member: 'device-a' }], T), [{ isMember: false, size: 0 }]);
        await counters.addMembers([{ key: 'buyer:1:devices', member: 'device-a' }, { key: 'buyer:2:devices', member: 'device-a' }], T, HOUR_MS);
        await counters.addMembers([{ key: 'buyer:1:devices', member: 'device-b' }], T + 10 * MINUTE_MS, HOUR_MS);
        await counters.addMembers([{ key: 'buyer:1:devices', member: 'device-b' }], T + 10 * MINUTE_MS, HOUR_MS);
        const queries = [
          { key: 'buyer:1:devices', member: 'device-a' },
          { key: 'buyer:1:devices', member: 'device-b' },
          { key: 'buyer:1:devices', member: 'device-c' },
          { key: 'buyer:2:devices', member: 'device-b' },
        ];
        assert.deepEqual(await counters.members(queries, T + 10 * MINUTE_MS), [
          { isMember: true, size: 2 },
          { isMember: true, size: 2 },
          { isMember: false, size: 2 },
          { isMember: false, size: 1 },
        ]);
        // device-a expires at T + 1 h (not included), device-b at T + 1 h 10 min.
        assert.deepEqual(await counters.members(queries, T + HOUR_MS - 1), [
          { isMember: true, size: 2 },
          { isMember: true, size: 2 },
          { isMember: false, size: 2 },
          { isMember: false, size: 1 },
        ]);
        assert.deepEqual(await counters.members(queries, T + HOUR_MS), [
          { isMember: false, size: 1 },
          { isMember: true, size: 1 },
          { isMember: false, size: 1 },
          { isMember: false, size: 0 },
        ]);
        assert.deepEqual(await counters.members(queries.slice(0, 2), T + 70 * MINUTE_MS), [
          { isMember: false, size: 0 },
          { isMember: false, size: 0 },
        ]);
        assert.deepEqual(await counters.members([], T), []);
      });
    });

    test('remembering a member again renews it', async () => {
      await withCounters(kind, async (counters) => {
        await counters.addMembers([{ key: 'card:1:buyers', member: 'buyer-1' }], T, HOUR_MS);
        await counters.addMembers([{ key: 'card:1:buyers', member: 'buyer-1' }], T + 50 * MINUTE_MS, HOUR_MS);
        const query = [{ key: 'card:1:buyers', member: 'buyer-1' }];
        assert.deepEqual(await counters.members(query, T + 90 * MINUTE_MS), [{ isMember: true, size: 1 }]);
        assert.deepEqual(await counters.members(query, T + 110 * MINUTE_MS), [{ isMember: false, size: 0 }]);
        // Remembered after expiring, it is back.
        await counters.addMembers(query, T + 120 * MINUTE_MS, HOUR_MS);
        assert.deepEqual(await counters.members(query, T + 120 * MINUTE_MS), [{ isMember: true, size: 1 }]);
      });
    });

    test('a set keeps at most membersMax members, forgetting those that expire first', async () => {
      await withCounters(
        kind,
        async (counters) => {
          for (let member = 0; member < 5; member += 1) {
            await counters.addMembers([{ key: 'device:1:phones', member: `phone-${member}` }], T + member * SECOND_MS, DAY_MS);
          }
          const queries = [0, 1, 2, 3, 4].map((member) => ({ key: 'device:1:phones', member: `phone-${member}` }));
          const found = await counters.members(queries, T + 10 * SECOND_MS);
          assert.deepEqual(found.map((answer) => answer.isMember), [false, false, true, true, true]);
          assert.ok(found.every((answer) => answer.size === 3));
        },
        { membersMax: 3 },
      );
    });

    test('registers hold the last value until its ttl passes', async () => {
      await withCounters(kind, async (counters) => {
        await counters.put([{ key: 'buyer:1:location', value: '48.8566,2.3522|FR' }, { key: 'buyer:2:location', value: '' }], T, HOUR_MS);
        assert.deepEqual(await counters.get(['buyer:1:location', 'buyer:2:location', 'buyer:3:location'], T + HOUR_MS - 1), ['48.8566,2.3522|FR', '', null]);
        assert.deepEqual(await counters.get(['buyer:1:location'], T + HOUR_MS), [null]);
        await counters.put([{ key: 'buyer:1:location', value: '52.52,13.405|DE' }], T + 2 * HOUR_MS, MINUTE_MS);
        assert.deepEqual(await counters.get(['buyer:1:location'], T + 2 * HOUR_MS), ['52.52,13.405|DE']);
        await counters.put([{ key: 'buyer:1:location', value: '40.4168,-3.7038|ES' }], T + 2 * HOUR_MS + SECOND_MS, MINUTE_MS);
        assert.deepEqual(await counters.get(['buyer:1:location'], T + 2 * HOUR_MS + MINUTE_MS), ['40.4168,-3.7038|ES']);
        assert.deepEqual(await counters.get(['buyer:1:location'], T + 2 * HOUR_MS + SECOND_MS + MINUTE_MS), [null]);
        assert.deepEqual(await counters.get([], T), []);
      });
    });

    test('a key can hold a window, a set and a register at once, independently', async () => {
      await withCounters(kind, async (counters) => {
        await counters.add([{ key: 'buyer:1', amount: 9 }], T);
        await counters.addMembers([{ key: 'buyer:1', member: 'device-a' }], T, HOUR_MS);
        await counters.put([{ key: 'buyer:1', value: 'here' }], T, HOUR_MS);
        assert.equal((await counters.windows(['buyer:1'], T))[0]?.sum30d, 9);
        assert.deepEqual(await counters.members([{ key: 'buyer:1', member: 'device-a' }], T), [{ isMember: true, size: 1 }]);
        assert.deepEqual(await counters.get(['buyer:1'], T), ['here']);
      });
    });

    test('many keys in batches keep their own totals, members and registers', async () => {
      await withCounters(kind, async (counters) => {
        const keys = Array.from({ length: 3_000 }, (_, key) => `buyer:${key}`);
        for (let start = 0; start < keys.length; start += 1_000) {
          const batch = keys.slice(start, start + 1_000);
          await counters.add(batch.map((key, offset) => ({ key, amount: start + offset })), T);
          await counters.addMembers(batch.map((key, offset) => ({ key, member: `device-${start + offset}` })), T, DAY_MS);
          await counters.put(batch.map((key, offset) => ({ key, value: `value-${start + offset}` })), T, DAY_MS);
        }
        for (let start = 0; start < keys.length; start += 1_000) {
          const batch = keys.slice(start, start + 1_000);
          const found = await counters.windows(batch, T + SECOND_MS);
          found.forEach((totalsOfKey, offset) => assert.deepEqual(totalsOfKey, totals({
            count1m: 1, sum1m: start + offset, count1h: 1, sum1h: start + offset, count1d: 1, sum1d: start + offset, count30d: 1, sum30d: start + offset,
          })));
          const members = await counters.members(batch.map((key, offset) => ({ key, member: `device-${start + offset}` })), T + SECOND_MS);
          assert.ok(members.every((answer) => answer.isMember && answer.size === 1));
          assert.deepEqual(await counters.get(batch, T + SECOND_MS), batch.map((_, offset) => `value-${start + offset}`));
        }
      });
    });

    test('calls are bounded and amounts are non-negative integers', async () => {
      await withCounters(kind, async (counters) => {
        const tooMany = Array.from({ length: 1_025 }, (_, key) => `key:${key}`);
        await assert.rejects(counters.windows(tooMany, T), RangeError);
        await assert.rejects(counters.add(tooMany.map((key) => ({ key, amount: 1 })), T), RangeError);
        await assert.rejects(counters.add([{ key: 'a', amount: -1 }], T), RangeError);
        await assert.rejects(counters.add([{ key: 'a', amount: 1.5 }], T), RangeError);
        await assert.rejects(counters.windows(['a'], Number.NaN), RangeError);
        await assert.rejects(counters.put([{ key: 'a', value: 'v' }], T, 0), RangeError);
        assert.deepEqual(await counters.windows(['a'], T), [totals({})]);
      });
    });
  });
}

describe('risk counters in memory: bounds', () => {
  test('at most keysMax keys of all kinds, evicting the least recently used', async () => {
    const counters = createMemoryCounters({ keysMax: 3 });
    await counters.add([{ key: 'a', amount: 1 }, { key: 'b', amount: 2 }], T);
    await counters.addMembers([{ key: 'c', member: 'm' }], T, HOUR_MS);
    assert.equal(counters.keyCount(), 3);
    await counters.windows(['a'], T); // a is now more recently used than b and c.
    await counters.put([{ key: 'd', value: 'v' }], T, HOUR_MS);
    assert.equal(counters.keyCount(), 3);
    assert.deepEqual((await counters.windows(['a', 'b'], T)).map((found) => found.count1m), [1, 0]);
    await counters.add(Array.from({ length: 100 }, (_, key) => ({ key: `bulk:${key}`, amount: 1 })), T);
    assert.equal(counters.keyCount(), 3);
    assert.deepEqual((await counters.windows(['bulk:97', 'bulk:98', 'bulk:99', 'a'], T)).map((found) => found.count1m), [1, 1, 1, 0]);
    await counters.close();
  });

  test('a key used is kept for at least half the bound of further new keys', async () => {
    const counters = createMemoryCounters({ keysMax: 100 });
    await counters.add(Array.from({ length: 100 }, (_, key) => ({ key: `k:${key}`, amount: 1 })), T);
    // k:0 is the oldest, k:99 among the newer half: both are used, then 50 new keys arrive.
    await counters.windows(['k:0', 'k:99'], T);
    await counters.add(Array.from({ length: 50 }, (_, key) => ({ key: `new:${key}`, amount: 1 })), T);
    assert.equal(counters.keyCount(), 100);
    const kept = (keys: string[]) => counters.windows(keys, T).then((found) => found.map((totals) => totals.count1m));
    assert.deepEqual(await kept(['k:0', 'k:99', 'new:0', 'new:49']), [1, 1, 1, 1]);
    // The keys inserted after k:0 and never used again went first.
    assert.deepEqual(await kept(['k:1', 'k:50']), [0, 0]);
    await counters.close();
  });

  test('keys whose buckets, members and values all expired are forgotten when read', async () => {
    const counters = createMemoryCounters();
    await counters.add([{ key: 'buyer:1', amount: 1 }], T);
    await counters.addMembers([{ key: 'buyer:1:devices', member: 'd' }], T, HOUR_MS);
    await counters.put([{ key: 'buyer:1:location', value: 'v' }], T, HOUR_MS);
    assert.equal(counters.keyCount(), 3);
    await counters.windows(['buyer:1'], T + 30 * DAY_MS);
    await counters.members([{ key: 'buyer:1:devices', member: 'd' }], T + HOUR_MS);
    await counters.get(['buyer:1:location'], T + HOUR_MS);
    assert.equal(counters.keyCount(), 0);
    await counters.close();
  });
});

describe('risk counters in Redis: cleanup', () => {
  let admin: Redis;
  before(async () => {
    admin = await connectAdmin();
  });
  after(() => admin?.disconnect());

  test('stale buckets are pruned and every key has a real expiry', async () => {
    await withCounters('redis', async (counters, { prefix }) => {
      await counters.add([{ key: 'buyer:1', amount: 3 }], T);
      await counters.add([{ key: 'buyer:1', amount: 4 }], T + 5 * SECOND_MS);
      const bucketValues = async () => {
        const fields = await admin.hgetall(`${prefix}w:buyer:1`);
        return Object.entries(fields).filter(([field]) => /^[mhdD][#$][0-9]+$/.test(field)).map(([, value]) => value).sort();
      };
      assert.deepEqual(await bucketValues(), ['2', '2', '2', '2', '7', '7', '7', '7']);
      await counters.add([{ key: 'buyer:1', amount: 5 }], T + 31 * DAY_MS);
      assert.deepEqual(await bucketValues(), ['1', '1', '1', '1', '5', '5', '5', '5']);
      const windowExpiresInMs = await admin.pttl(`${prefix}w:buyer:1`);
      assert.ok(windowExpiresInMs > 30 * DAY_MS && windowExpiresInMs <= 31 * DAY_MS, `window hash expires in ${windowExpiresInMs} ms`);

      await counters.addMembers([{ key: 'buyer:1:devices', member: 'a' }], T, HOUR_MS);
      await counters.addMembers([{ key: 'buyer:1:devices', member: 'b' }], T + 2 * HOUR_MS, 60 * DAY_MS);
      await counters.addMembers([{ key: 'buyer:1:devices', member: 'c' }], T + 2 * HOUR_MS, HOUR_MS);
      assert.deepEqual(await admin.zrange(`${prefix}s:buyer:1:devices`, 0, -1), ['c', 'b']);
      const setExpiresInMs = await admin.pttl(`${prefix}s:buyer:1:devices`);
      assert.ok(setExpiresInMs > 60 * DAY_MS, `the set expires in ${setExpiresInMs} ms, after its longest-lived member`);

      await counters.put([{ key: 'buyer:1:location', value: 'v' }], T, HOUR_MS);
      const registerExpiresInMs = await admin.pttl(`${prefix}r:buyer:1:location`);
      assert.ok(registerExpiresInMs > HOUR_MS && registerExpiresInMs <= HOUR_MS + DAY_MS, `the register expires in ${registerExpiresInMs} ms`);
    });
  });
});

interface ChildProcessHandle {
  lines: AsyncIterator<string>;
  write(line: string): void;
  exited: Promise<number | null>;
  stderr(): string;
  kill(): void;
}

function startChild(args: string[]): ChildProcessHandle {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD_SCRIPT, ...args], { cwd: REPO_ROOT });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    lines: createInterface({ input: child.stdout })[Symbol.asyncIterator](),
    write: (line) => child.stdin.write(`${line}\n`),
    exited,
    stderr: () => stderr,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

async function expectLine(child: ChildProcessHandle, expected?: string): Promise<string> {
  const next = await child.lines.next();
  if (next.done === true) throw new Error(`the child exited (${await child.exited}) early:\n${child.stderr()}`);
  if (expected !== undefined) assert.equal(next.value, expected, child.stderr());
  return next.value;
}

describe('risk counters in Redis: two processes', () => {
  requireRedis();

  test('two processes add to the same keys and both read the combined totals', async () => {
    const prefix = `micropay:test:risk:${randomBytes(6).toString('hex')}:`;
    const events = 200;
    const children = [
      startChild([REDIS_URL, prefix, 'device-one', String(events), '3', String(T)]),
      startChild([REDIS_URL, prefix, 'device-two', String(events), '5', String(T)]),
    ];
    const counters = createRedisCounters({ url: REDIS_URL, prefix });
    try {
      for (const child of children) await expectLine(child, 'ready');
      for (const child of children) child.write('go');
      for (const child of children) await expectLine(child, 'added');
      for (const child of children) child.write('read');
      const readings = await Promise.all(children.map(async (child) => JSON.parse(await expectLine(child)) as ChildReading));
      for (const child of children) assert.equal(await child.exited, 0, child.stderr());

      const combined = totals({
        count1m: 2 * events, sum1m: 8 * events, count1h: 2 * events, sum1h: 8 * events,
        count1d: 2 * events, sum1d: 8 * events, count30d: 2 * events, sum30d: 8 * events,
      });
      for (const reading of readings) {
        assert.deepEqual(reading.totals, [combined, combined]);
        assert.deepEqual(reading.members, [{ isMember: true, size: 2 }]);
      }
      assert.deepEqual(await counters.windows(['shared:buyer', 'shared:device'], T + events), [combined, combined]);
    } finally {
      for (const child of children) child.kill();
      await counters.close();
      const admin = await connectAdmin();
      await deleteKeys(admin, prefix).finally(() => admin.disconnect());
    }
  });
});
