// The risk engine's counter store: velocity windows (counts and sums over 1 minute, 1 hour, 1 day and
// 30 days), sets of members with an expiry (devices seen for a buyer, buyers seen on a card) and
// last-value registers (the buyer's previous location). Two implementations share this interface and
// one test suite: the in-process store below for the embedded setup, and the Redis store of
// `redis-counters.ts` when several server processes must share counters.
//
// Time is always the caller's `atMs`, never the wall clock: the simulator replays weeks of traffic in
// seconds with its own clock, and the server passes Date.now().
//
// Windows are bucketed. Each window is a fixed number of buckets of one size (1 minute: 6 of 10 s,
// 1 hour: 60 of 1 min, 1 day: 24 of 1 h, 30 days: 30 of 1 day), a bucket being the interval
// [index * bucketMs, (index + 1) * bucketMs) of epoch time. A window's total at `atMs` is the sum of
// the buckets whose start lies within (atMs - windowMs, atMs], that is the current bucket and the
// buckets before it, `bucketsPerWindow` in all. This is an approximation at the old edge: an event is
// always counted for at least windowMs - bucketMs after it happened and never after windowMs, so a
// window in effect covers between (buckets - 1) and buckets bucket lengths of history (an event late
// in a 10 s bucket leaves the 1-minute window after a little over 50 s). Events are bucketed by their
// own `atMs`, so events recorded slightly out of order land in the right bucket; an event more than a
// window older than the newest event of a key counts only in the longer windows that still hold it.

export interface WindowTotals {
  count1m: number;
  sum1m: number;
  count1h: number;
  sum1h: number;
  count1d: number;
  sum1d: number;
  count30d: number;
  sum30d: number;
}

export interface RiskCounters {
  /** Adds one event of `amount` (a non-negative integer, e.g. US cents) at `atMs` to each key's velocity windows. */
  add(entries: readonly { key: string; amount: number }[], atMs: number): Promise<void>;
  /** Totals of each key over the four sliding windows (1 minute, 1 hour, 1 day, 30 days) ending at `atMs`. */
  windows(keys: readonly string[], atMs: number): Promise<WindowTotals[]>;
  /** Remembers each member in its set (e.g. devices seen for a buyer) until `atMs + ttlMs`; remembering again renews it. */
  addMembers(entries: readonly { key: string; member: string }[], atMs: number, ttlMs: number): Promise<void>;
  /** For each query: whether the member is in the set at `atMs`, and how many distinct members the set holds at `atMs`. */
  members(queries: readonly { key: string; member: string }[], atMs: number): Promise<{ isMember: boolean; size: number }[]>;
  /** Last-value registers (e.g. the buyer's previous location) with a ttl. */
  put(entries: readonly { key: string; value: string }[], atMs: number, ttlMs: number): Promise<void>;
  get(keys: readonly string[], atMs: number): Promise<(string | null)[]>;
  close(): Promise<void>;
}

/** The bucketing of the four windows, finest first; both implementations use this table. */
export const WINDOW_LEVELS = [
  { window: '1m', bucketMs: 10_000, buckets: 6 },
  { window: '1h', bucketMs: 60_000, buckets: 60 },
  { window: '1d', bucketMs: 3_600_000, buckets: 24 },
  { window: '30d', bucketMs: 86_400_000, buckets: 30 },
] as const;

/** The most entries or keys one call may carry, so that no call (or Redis script) runs unbounded. */
export const COUNTER_BATCH_MAX = 1_024;
/** The default bound on a set's members: beyond it, the members expiring first are forgotten. */
export const MEMBERS_MAX_DEFAULT = 1_000;
const KEYS_MAX_DEFAULT = 1_000_000;

/** Asserts the arguments every implementation shares; a violation is a programmer error. */
export function assertCounterCall(batchLength: number, atMs: number, ttlMs?: number): void {
  if (batchLength > COUNTER_BATCH_MAX) throw new RangeError(`a counter call carries at most ${COUNTER_BATCH_MAX} entries, got ${batchLength}`);
  if (!Number.isSafeInteger(atMs) || atMs < 0) throw new RangeError(`atMs must be a non-negative integer, got ${atMs}`);
  if (ttlMs !== undefined && (!Number.isSafeInteger(ttlMs) || ttlMs <= 0)) throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
}

export function assertAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError(`a counter amount must be a non-negative integer, got ${amount}`);
}

export function emptyTotals(): WindowTotals {
  return { count1m: 0, sum1m: 0, count1h: 0, sum1h: 0, count1d: 0, sum1d: 0, count30d: 0, sum30d: 0 };
}

export interface MemoryRiskCounters extends RiskCounters {
  /** How many keys (of all three kinds together) the store holds now. */
  keyCount(): number;
}

/**
 * Everything the store remembers under one key. One record serves the three kinds, so `keysMax`
 * bounds the keys of all kinds together.
 */
interface KeyRecord {
  /**
   * The live buckets of the four levels in one flat array (a key with one event takes about 310 bytes
   * in all, measured, against 1 KB with an array per level): first the number of buckets of each level, then each level's buckets as triples
   * (index, count, sum) by ascending index, finest level first.
   */
  buckets: number[] | null;
  /** Member to expiry (ms since the epoch). */
  members: Map<string, number> | null;
  /** No member expires before this; it lets `members` skip the pruning scan in the common case. */
  membersExpiryMin: number;
  register: { value: string; expiresAtMs: number } | null;
  /** Where the record stands in the least-recently-used list (see `use`). */
  position: number;
}

const LEVEL_COUNT = WINDOW_LEVELS.length;
const DAY_LEVEL = 3;
const DAY_BUCKETING = WINDOW_LEVELS[DAY_LEVEL];

/**
 * The in-process store: a Map used as a least-recently-used list (re-inserting a key moves it to the
 * end, eviction takes the first key), with at most `keysMax` keys. A key used while it is among the
 * newer half of the list stays where it is: moving it would cost a delete and an insert on every use
 * (a payment uses a dozen keys) to win nothing, since half the list's keys would have to be inserted
 * before it reached the front. So eviction is least-recently-used to within half the list: a key
 * used is kept for at least the next size / 2 insertions. Window buckets are kept sparse,
 * only those with events, and buckets older than their window are dropped as newer ones arrive.
 */
export function createMemoryCounters(options: { keysMax?: number; membersMax?: number } = {}): MemoryRiskCounters {
  const keysMax = options.keysMax ?? KEYS_MAX_DEFAULT;
  const membersMax = options.membersMax ?? MEMBERS_MAX_DEFAULT;
  if (!Number.isSafeInteger(keysMax) || keysMax < 1) throw new RangeError(`keysMax must be a positive integer, got ${keysMax}`);
  if (!Number.isSafeInteger(membersMax) || membersMax < 1) throw new RangeError(`membersMax must be a positive integer, got ${membersMax}`);
  const records = new Map<string, KeyRecord>();
  /** Counts insertions at the end of `records`: a record's `position` is the count when it was put there,
   * so at most `insertions - position` records come after it. */
  let insertions = 0;

  /** The record of `key`, moved to the end of the list unless it is among its newer half; or undefined. */
  function use(key: string): KeyRecord | undefined {
    const record = records.get(key);
    if (record !== undefined && insertions - record.position >= records.size / 2) {
      records.delete(key);
      records.set(key, record);
      insertions += 1;
      record.position = insertions;
    }
    return record;
  }

  function useOrCreate(key: string): KeyRecord {
    const existing = use(key);
    if (existing !== undefined) return existing;
    if (records.size >= keysMax) {
      const leastRecentlyUsed = records.keys().next();
      if (leastRecentlyUsed.done !== true) records.delete(leastRecentlyUsed.value);
    }
    insertions += 1;
    const record: KeyRecord = { buckets: null, members: null, membersExpiryMin: Infinity, register: null, position: insertions };
    records.set(key, record);
    return record;
  }

  function forgetIfEmpty(key: string, record: KeyRecord): void {
    if (record.buckets === null && record.members === null && record.register === null) records.delete(key);
  }

  return {
    async add(entries, atMs) {
      assertCounterCall(entries.length, atMs);
      for (const { amount } of entries) assertAmount(amount);
      for (const { key, amount } of entries) {
        const record = useOrCreate(key);
        if (record.buckets === null) {
          record.buckets = firstBuckets(atMs, amount);
          continue;
        }
        for (let level = 0; level < LEVEL_COUNT; level += 1) {
          const { bucketMs, buckets } = WINDOW_LEVELS[level]!;
          addToLevel(record.buckets, level, Math.floor(atMs / bucketMs), amount, buckets);
        }
      }
    },

    async windows(keys, atMs) {
      assertCounterCall(keys.length, atMs);
      const result: WindowTotals[] = [];
      for (const key of keys) {
        const totals = emptyTotals();
        result.push(totals);
        const record = use(key);
        if (record === undefined || record.buckets === null) continue;
        const buckets = record.buckets;
        const dayIndex = Math.floor(atMs / DAY_BUCKETING.bucketMs);
        if (buckets[buckets.length - 3]! <= dayIndex - DAY_BUCKETING.buckets) {
          // The newest day bucket, the last triple, has left the 30-day window, so every bucket has left
          // every window: the key no longer needs them.
          record.buckets = null;
          forgetIfEmpty(key, record);
          continue;
        }
        let start: number = LEVEL_COUNT;
        for (let level = 0; level < LEVEL_COUNT; level += 1) {
          const { bucketMs, buckets: bucketsPerWindow } = WINDOW_LEVELS[level]!;
          const end = start + 3 * buckets[level]!;
          sumLevel(buckets, start, end, Math.floor(atMs / bucketMs), bucketsPerWindow, totals, level);
          start = end;
        }
      }
      return result;
    },

    async addMembers(entries, atMs, ttlMs) {
      assertCounterCall(entries.length, atMs, ttlMs);
      const expiresAtMs = atMs + ttlMs;
      for (const { key, member } of entries) {
        const record = useOrCreate(key);
        const members = (record.members ??= new Map());
        members.set(member, expiresAtMs);
        if (expiresAtMs < record.membersExpiryMin) record.membersExpiryMin = expiresAtMs;
        if (record.membersExpiryMin <= atMs) pruneMembers(record, atMs);
        if (members.size > membersMax) forgetSoonestExpiring(record);
      }
    },

    async members(queries, atMs) {
      assertCounterCall(queries.length, atMs);
      const result: { isMember: boolean; size: number }[] = [];
      for (const { key, member } of queries) {
        const record = use(key);
        if (record === undefined || record.members === null) {
          result.push({ isMember: false, size: 0 });
          continue;
        }
        if (record.membersExpiryMin <= atMs) pruneMembers(record, atMs);
        const members = record.members;
        if (members.size === 0) {
          record.members = null;
          forgetIfEmpty(key, record);
          result.push({ isMember: false, size: 0 });
          continue;
        }
        const expiresAtMs = members.get(member);
        result.push({ isMember: expiresAtMs !== undefined && expiresAtMs > atMs, size: members.size });
      }
      return result;
    },

    async put(entries, atMs, ttlMs) {
      assertCounterCall(entries.length, atMs, ttlMs);
      for (const { key, value } of entries) useOrCreate(key).register = { value, expiresAtMs: atMs + ttlMs };
    },

    async get(keys, atMs) {
      assertCounterCall(keys.length, atMs);
      return keys.map((key) => {
        const record = use(key);
        if (record === undefined || record.register === null) return null;
        if (record.register.expiresAtMs <= atMs) {
          record.register = null;
          forgetIfEmpty(key, record);
          return null;
        }
        return record.register.value;
      });
    },

    async close() {
      records.clear();
    },

    keyCount() {
      return records.size;
    },
  };
}

/** The buckets of a key's first event: one bucket at each level. */
function firstBuckets(atMs: number, amount: number): number[] {
  return [
    1, 1, 1, 1,
    Math.floor(atMs / WINDOW_LEVELS[0].bucketMs), 1, amount,
    Math.floor(atMs / WINDOW_LEVELS[1].bucketMs), 1, amount,
    Math.floor(atMs / WINDOW_LEVELS[2].bucketMs), 1, amount,
    Math.floor(atMs / WINDOW_LEVELS[3].bucketMs), 1, amount,
  ];
}

/**
 * Adds one event to the bucket `index` of `level` in a key's flat buckets, then drops that level's
 * buckets that are a whole window older than its newest one. A level thus never holds more than
 * `bucketsPerWindow` buckets, which also bounds the backward search for a late event's bucket.
 */
function addToLevel(buckets: number[], level: number, index: number, amount: number, bucketsPerWindow: number): void {
  let start: number = LEVEL_COUNT;
  for (let before = 0; before < level; before += 1) start += 3 * buckets[before]!;
  let end = start + 3 * buckets[level]!;
  let position = end - 3;
  while (position >= start && buckets[position]! > index) position -= 3;
  if (position >= start && buckets[position] === index) {
    buckets[position + 1]! += 1;
    buckets[position + 2]! += amount;
    return;
  }
  buckets.splice(position + 3, 0, index, 1, amount);
  buckets[level]! += 1;
  end += 3;
  const oldestKept = buckets[end - 3]! - bucketsPerWindow;
  let drop = 0;
  while (start + drop < end && buckets[start + drop]! <= oldestKept) drop += 3;
  if (drop > 0) {
    buckets.splice(start, drop);
    buckets[level]! -= drop / 3;
  }
}

const TOTAL_NAMES = [
  ['count1m', 'sum1m'],
  ['count1h', 'sum1h'],
  ['count1d', 'sum1d'],
  ['count30d', 'sum30d'],
] as const;

/** Sets the totals of `level` to the sum of its buckets in [start, end) with index in (current - bucketsPerWindow, current]. */
function sumLevel(buckets: number[], start: number, end: number, current: number, bucketsPerWindow: number, totals: WindowTotals, level: number): void {
  const oldest = current - bucketsPerWindow;
  let count = 0;
  let sum = 0;
  for (let position = end - 3; position >= start; position -= 3) {
    const index = buckets[position]!;
    if (index <= oldest) break;
    if (index <= current) {
      count += buckets[position + 1]!;
      sum += buckets[position + 2]!;
    }
  }
  const [countName, sumName] = TOTAL_NAMES[level]!;
  totals[countName] = count;
  totals[sumName] = sum;
}

function pruneMembers(record: KeyRecord, atMs: number): void {
  const members = record.members;
  if (members === null) return;
  let expiryMin = Infinity;
  for (const [member, expiresAtMs] of members) {
    if (expiresAtMs <= atMs) members.delete(member);
    else if (expiresAtMs < expiryMin) expiryMin = expiresAtMs;
  }
  record.membersExpiryMin = expiryMin;
}

/** Forgets the member that expires first (the least recently renewed), keeping the set within its bound. */
function forgetSoonestExpiring(record: KeyRecord): void {
  const members = record.members;
  if (members === null) return;
  let soonest: string | null = null;
  let soonestExpiresAtMs = Infinity;
  for (const [member, expiresAtMs] of members) {
    if (expiresAtMs < soonestExpiresAtMs) {
      soonest = member;
      soonestExpiresAtMs = expiresAtMs;
    }
  }
  if (soonest !== null) members.delete(soonest);
  let expiryMin = Infinity;
  for (const expiresAtMs of members.values()) if (expiresAtMs < expiryMin) expiryMin = expiresAtMs;
  record.membersExpiryMin = expiryMin;
}
