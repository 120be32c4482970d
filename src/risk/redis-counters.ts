// The risk counters in Redis, shared by every server process: the same interface and the same test
// suite as the in-process store of `counters.ts`. Every call is one round trip (a Lua script, one
// command or one pipeline), and every key carries a real expiry so Redis cleans up idle keys, while
// window and set logic follows the caller's `atMs` (see counters.ts for the bucketing).
//
// Layout, under the prefix (default `micropay:risk:`):
// - `w:<key>`, a hash of window buckets. For each level, m (the 10 s buckets of the 1-minute window),
//   h (1 min buckets), d (1 h buckets) and D (1 day buckets): the buckets `<level>#<index>` (event count)
//   and `<level>$<index>` (sum of amounts); the level's newest bucket index `<level>@`; and the level's
//   totals `<level>#` and `<level>$` over the window that ends with that newest bucket. An event in a
//   newer bucket moves the level on: the buckets that leave the window are subtracted from the totals
//   and deleted, so stale buckets never pile up. A read takes the totals and subtracts the few buckets
//   between the newest bucket and `atMs`, so a read fetches a few fields however busy the key is.
//   Expires 31 days after its last event.
// - `s:<key>`, a sorted set of members scored by their expiry in ms; at most `membersMax` members.
// - `r:<key>`, a string `<expiresAtMs>|<value>`.
// The scripts touch several keys, so this store expects one Redis server, not a cluster.
import { Redis } from 'ioredis';
import {
  WINDOW_LEVELS,
  MEMBERS_MAX_DEFAULT,
  assertAmount,
  assertCounterCall,
  emptyTotals,
  type RiskCounters,
  type WindowTotals,
} from './counters.ts';

const PREFIX_DEFAULT = 'micropay:risk:';
const DAY_MS = 86_400_000;
/** Window hashes outlive their 30-day window by a day of real time, after their last event. */
const WINDOW_EXPIRE_MS = 31 * DAY_MS;
/** Sets and registers outlive their ttl by a day of real time, so `atMs` alone decides their expiry. */
const EXPIRE_MARGIN_MS = DAY_MS;
const COMMAND_TIMEOUT_MS_DEFAULT = 1_000;

/** The level letters of the hash fields, in the order of WINDOW_LEVELS. */
const LEVEL_LETTERS = ['m', 'h', 'd', 'D'] as const;
const LUA_LEVELS = `local letters = { ${LEVEL_LETTERS.map((letter) => `'${letter}'`).join(', ')} }
local buckets = { ${WINDOW_LEVELS.map((level) => level.buckets).join(', ')} }`;

/**
 * Lua: deletes the buckets of `letter` with index in [from, to] (at most one window of them, by the
 * caller) and subtracts them from the level's totals.
 */
const LUA_FORGET_BUCKETS = `
local function forgetBuckets(key, letter, from, to)
  local fields = {}
  for index = from, to do
    fields[#fields + 1] = letter .. '#' .. index
    fields[#fields + 1] = letter .. '$' .. index
  end
  local values = redis.call('HMGET', key, unpack(fields))
  local count, sum = 0, 0
  for f = 1, #values, 2 do
    if values[f] then
      count = count + tonumber(values[f])
      sum = sum + tonumber(values[f + 1])
    end
  end
  if count > 0 then
    -- 0 - sum, not -sum: negating a zero sum gives -0, which HINCRBY refuses as an integer.
    redis.call('HINCRBY', key, letter .. '#', 0 - count)
    redis.call('HINCRBY', key, letter .. '$', 0 - sum)
    redis.call('HDEL', key, unpack(fields))
  end
end`;

// KEYS: the window hashes. ARGV[1..4]: the bucket index of the event at each level; ARGV[5]: the real
// expiry in ms; ARGV[5 + k]: the amount for KEYS[k]. An event more than a window older than its level's
// newest bucket is too late for that level and only counts in the coarser levels.
const WINDOWS_ADD_LUA = `${LUA_LEVELS}
${LUA_FORGET_BUCKETS}
for k = 1, #KEYS do
  local key = KEYS[k]
  local amount = ARGV[5 + k]
  local heads = redis.call('HMGET', key, 'm@', 'h@', 'd@', 'D@')
  for level = 1, #letters do
    local letter = letters[level]
    local index = tonumber(ARGV[level])
    local head = nil
    if heads[level] then head = tonumber(heads[level]) end
    if head == nil or index > head then
      if head ~= nil then
        local leaving = math.min(index - head, buckets[level])
        forgetBuckets(key, letter, head - buckets[level] + 1, head - buckets[level] + leaving)
      end
      redis.call('HSET', key, letter .. '@', ARGV[level])
      head = index
    end
    if index > head - buckets[level] then
      redis.call('HINCRBY', key, letter .. '#' .. ARGV[level], 1)
      redis.call('HINCRBY', key, letter .. '$' .. ARGV[level], amount)
      redis.call('HINCRBY', key, letter .. '#', 1)
      redis.call('HINCRBY', key, letter .. '$', amount)
    end
  end
  redis.call('PEXPIRE', key, ARGV[5])
end
return #KEYS`;

// KEYS: the window hashes. ARGV[1..4]: the bucket index of atMs at each level. Returns, per key, the
// count and the sum of each window, in the order of WindowTotals: each level's totals (which end at its
// newest bucket) less its buckets outside (atMs - window, atMs], fetched in one HMGET per key.
const WINDOWS_READ_LUA = `${LUA_LEVELS}
local result = {}
for k = 1, #KEYS do
  local key = KEYS[k]
  local header = redis.call('HMGET', key, 'm@', 'm#', 'm$', 'h@', 'h#', 'h$', 'd@', 'd#', 'd$', 'D@', 'D#', 'D$')
  local base = #result
  local fields = {}
  local slots = {}
  for level = 1, #letters do
    local slot = base + level * 2 - 1
    result[slot] = 0
    result[slot + 1] = 0
    local head = nil
    if header[level * 3 - 2] then head = tonumber(header[level * 3 - 2]) end
    local current = tonumber(ARGV[level])
    local n = buckets[level]
    if head ~= nil and current - head < n and head - current < n then
      result[slot] = tonumber(header[level * 3 - 1])
      result[slot + 1] = tonumber(header[level * 3])
      local from, to = head - n + 1, current - n
      if current < head then from, to = current + 1, head end
      for index = from, to do
        fields[#fields + 1] = letters[level] .. '#' .. index
        fields[#fields + 1] = letters[level] .. '$' .. index
        slots[#slots + 1] = slot
      end
    end
  end
  if #fields > 0 then
    local values = redis.call('HMGET', key, unpack(fields))
    for b = 1, #slots do
      if values[b * 2 - 1] then
        local slot = slots[b]
        result[slot] = result[slot] - tonumber(values[b * 2 - 1])
        result[slot + 1] = result[slot + 1] - tonumber(values[b * 2])
      end
    end
  end
end
return result`;

// KEYS: the sets. ARGV[1]: atMs; ARGV[2]: the members' expiry in ms; ARGV[3]: the negative rank
// -(membersMax + 1), the last rank to remove so the members expiring latest stay; ARGV[4]: the real
// expiry in ms, only ever lengthened; ARGV[4 + k]: the member for KEYS[k].
const MEMBERS_ADD_LUA = `
for k = 1, #KEYS do
  local key = KEYS[k]
  redis.call('ZADD', key, ARGV[2], ARGV[4 + k])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  redis.call('ZREMRANGEBYRANK', key, 0, ARGV[3])
  if redis.call('PTTL', key) < tonumber(ARGV[4]) then redis.call('PEXPIRE', key, ARGV[4]) end
end
return #KEYS`;

interface CounterScripts {
  riskWindowsAdd(...args: (string | number)[]): Promise<number>;
  riskWindowsRead(...args: (string | number)[]): Promise<number[]>;
  riskMembersAdd(...args: (string | number)[]): Promise<number>;
}

export interface RedisCountersOptions {
  url: string;
  prefix?: string;
  /** The bound on each set's members; beyond it the members expiring first are forgotten. */
  membersMax?: number;
  /** How long a call waits for Redis before it fails, so scoring never hangs on a broken connection. */
  commandTimeoutMs?: number;
}

export function createRedisCounters(options: RedisCountersOptions): RiskCounters {
  const prefix = options.prefix ?? PREFIX_DEFAULT;
  const membersMax = options.membersMax ?? MEMBERS_MAX_DEFAULT;
  if (!Number.isSafeInteger(membersMax) || membersMax < 1) throw new RangeError(`membersMax must be a positive integer, got ${membersMax}`);
  const redis = new Redis(options.url, {
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS_DEFAULT,
  });
  redis.defineCommand('riskWindowsAdd', { lua: WINDOWS_ADD_LUA });
  redis.defineCommand('riskWindowsRead', { lua: WINDOWS_READ_LUA });
  redis.defineCommand('riskMembersAdd', { lua: MEMBERS_ADD_LUA });
  const scripts = redis as Redis & CounterScripts;
  // Connection errors surface as rejected calls; without a listener ioredis would also log each one.
  redis.on('error', () => undefined);

  const windowKey = (key: string) => `${prefix}w:${key}`;
  const setKey = (key: string) => `${prefix}s:${key}`;
  const registerKey = (key: string) => `${prefix}r:${key}`;
  const bucketIndexes = (atMs: number) => WINDOW_LEVELS.map((level) => String(Math.floor(atMs / level.bucketMs)));

  return {
    async add(entries, atMs) {
      assertCounterCall(entries.length, atMs);
      for (const { amount } of entries) assertAmount(amount);
      if (entries.length === 0) return;
      await scripts.riskWindowsAdd(
        entries.length,
        ...entries.map((entry) => windowKey(entry.key)),
        ...bucketIndexes(atMs),
        WINDOW_EXPIRE_MS,
        ...entries.map((entry) => String(entry.amount)),
      );
    },

    async windows(keys, atMs) {
      assertCounterCall(keys.length, atMs);
      if (keys.length === 0) return [];
      const flat = await scripts.riskWindowsRead(keys.length, ...keys.map(windowKey), ...bucketIndexes(atMs));
      return keys.map((_, k) => totalsAt(flat, k * 8));
    },

    async addMembers(entries, atMs, ttlMs) {
      assertCounterCall(entries.length, atMs, ttlMs);
      if (entries.length === 0) return;
      await scripts.riskMembersAdd(
        entries.length,
        ...entries.map((entry) => setKey(entry.key)),
        String(atMs),
        String(atMs + ttlMs),
        String(-(membersMax + 1)),
        String(ttlMs + EXPIRE_MARGIN_MS),
        ...entries.map((entry) => entry.member),
      );
    },

    async members(queries, atMs) {
      assertCounterCall(queries.length, atMs);
      if (queries.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const { key, member } of queries) {
        pipeline.zscore(setKey(key), member);
        pipeline.zcount(setKey(key), `(${atMs}`, '+inf');
      }
      const replies = await pipeline.exec();
      if (replies === null) throw new Error('the Redis pipeline of members was discarded');
      return queries.map((_, q) => {
        const score = pipelineReply(replies, q * 2);
        const size = pipelineReply(replies, q * 2 + 1);
        return { isMember: typeof score === 'string' && Number(score) > atMs, size: Number(size) };
      });
    },

    async put(entries, atMs, ttlMs) {
      assertCounterCall(entries.length, atMs, ttlMs);
      if (entries.length === 0) return;
      const pipeline = redis.pipeline();
      for (const { key, value } of entries) pipeline.set(registerKey(key), `${atMs + ttlMs}|${value}`, 'PX', ttlMs + EXPIRE_MARGIN_MS);
      const replies = await pipeline.exec();
      if (replies === null) throw new Error('the Redis pipeline of registers was discarded');
      for (let r = 0; r < replies.length; r += 1) pipelineReply(replies, r);
    },

    async get(keys, atMs) {
      assertCounterCall(keys.length, atMs);
      if (keys.length === 0) return [];
      const stored = await redis.mget(...keys.map(registerKey));
      return stored.map((text) => {
        if (text === null) return null;
        const separator = text.indexOf('|');
        return Number(text.slice(0, separator)) > atMs ? text.slice(separator + 1) : null;
      });
    },

    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

function totalsAt(flat: readonly number[], offset: number): WindowTotals {
  const totals = emptyTotals();
  totals.count1m = flat[offset] ?? 0;
  totals.sum1m = flat[offset + 1] ?? 0;
  totals.count1h = flat[offset + 2] ?? 0;
  totals.sum1h = flat[offset + 3] ?? 0;
  totals.count1d = flat[offset + 4] ?? 0;
  totals.sum1d = flat[offset + 5] ?? 0;
  totals.count30d = flat[offset + 6] ?? 0;
  totals.sum30d = flat[offset + 7] ?? 0;
  return totals;
}

/** The value of one pipelined command, throwing the command's error if it failed. */
function pipelineReply(replies: [error: Error | null, result: unknown][], position: number): unknown {
  const reply = replies[position];
  if (reply === undefined) throw new Error(`the Redis pipeline returned no reply at ${position}`);
  if (reply[0] !== null) throw reply[0];
  return reply[1];
}
