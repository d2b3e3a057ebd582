/**
 * The Lua scripts behind RedisSlotLimiter (redis-slots.ts). Each runs atomically in Redis, so a take's
 * check and write see no other instance in between, and each reads the time from Redis (TIME), so the
 * instances' clocks never matter.
 *
 * Keys: a slot is a ZSET of request ids scored by lease expiry (ms). A rate window is a ZSET of
 * `${requestId}|${cost}` scored by admission time (ms), beside a string key holding the window's sum,
 * so a take costs O(entries aged out) rather than O(entries in the last minute). The sum is a cache:
 * when it is missing it is recounted from the window, and an empty window resets it to 0.
 * Needs Redis >= 5 (TIME before writes relies on effects replication, the default since 5).
 */

/** What every script shares: the time, and the rate-window helpers mirroring RateLimiter's Window. */
const PRELUDE = `
local WINDOW = 60000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function costOf(member)
  return tonumber(string.match(member, '|([^|]*)$')) or 0
end

-- The window's sum once entries admitted 60 s ago or more are dropped (as RateLimiter's prune), and
-- whether anything changed that must be stored.
local function prune(win, sk)
  local cutoff = now - WINDOW
  local sum = tonumber(redis.call('GET', sk))
  if sum == nil then
    redis.call('ZREMRANGEBYSCORE', win, '-inf', cutoff)
    sum = 0
    for _, m in ipairs(redis.call('ZRANGE', win, 0, -1)) do sum = sum + costOf(m) end
    return sum, true
  end
  local old = redis.call('ZRANGEBYSCORE', win, '-inf', cutoff)
  local changed = #old > 0
  for _, m in ipairs(old) do sum = sum - costOf(m) end
  if changed then redis.call('ZREMRANGEBYSCORE', win, '-inf', cutoff) end
  if sum ~= 0 and redis.call('ZCARD', win) == 0 then return 0, true end
  return sum, changed
end

-- Idle windows vanish: both keys expire a minute (plus margin) after the last write.
local function store(win, sk, sum, ttl)
  if redis.call('ZCARD', win) == 0 then
    redis.call('DEL', win, sk)
  else
    redis.call('SET', sk, tostring(sum), 'PX', ttl)
    redis.call('PEXPIRE', win, ttl)
  end
end
`;

/**
 * KEYS: the slot keys (ARGV[5] of them), then a window and a sum key per rate.
 * ARGV: requestId, leaseMs, slotKeyTtlMs, rateKeyTtlMs, slot count, each slot's cap, then per rate:
 * limit, cost, member.
 * Returns {1, sum, resetMs per rate}, {0, refused slot's index}, or {2, refused rate's index,
 * retryAfterMs (-1: never), sum, resetMs per rate}.
 */
export const TAKE = `${PRELUDE}
local id, lease, slotTtl, rateTtl, ns = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
local nr = (#KEYS - ns) / 2

-- Concurrency first, in the order given: expired leases (a requester that died) free their slot.
for i = 1, ns do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[5 + i]) then return {0, i} end
end

local function rate(j)
  local a = 5 + ns + (j - 1) * 3
  return tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), ARGV[a + 3], KEYS[ns + 2 * j - 1], KEYS[ns + 2 * j]
end

-- Sums per window key (a limit listed twice shares one window, as in RateLimiter).
local sums, changed, sumKeys = {}, {}, {}
local function sumOf(win, sk)
  if sums[win] == nil then
    sums[win], changed[win] = prune(win, sk)
    sumKeys[win] = sk
  end
  return sums[win]
end

local function states()
  local out = {}
  for j = 1, nr do
    local _, _, _, win, sk = rate(j)
    local newest = redis.call('ZRANGE', win, -1, -1, 'WITHSCORES')
    local at = newest[2] and tonumber(newest[2]) or (now - WINDOW)
    out[#out + 1] = sumOf(win, sk)
    out[#out + 1] = math.max(0, at + WINDOW - now)
  end
  return out
end

local function storeChanged()
  for win, c in pairs(changed) do
    if c then store(win, sumKeys[win], sums[win], rateTtl) end
  end
end

-- When enough of the window ages out for the cost to fit (RateLimiter's freesAt), oldest first.
local function freesAt(win, need)
  local from = 0
  while true do
    local batch = redis.call('ZRANGE', win, from, from + 63, 'WITHSCORES')
    if #batch == 0 then return -1 end
    for k = 1, #batch, 2 do
      need = need - costOf(batch[k])
      if need <= 0 then return tonumber(batch[k + 1]) + WINDOW end
    end
    from = from + 64
  end
end

for j = 1, nr do
  local limit, cost, _, win, sk = rate(j)
  local sum = sumOf(win, sk)
  if sum + cost > limit then
    local retry = -1
    if cost <= limit then
      local at = freesAt(win, sum + cost - limit)
      if at >= 0 then retry = math.max(1, at - now) end
    end
    local st = states()
    storeChanged()
    return {2, j, retry, unpack(st)}
  end
end

for i = 1, ns do
  redis.call('ZADD', KEYS[i], now + lease, id)
  redis.call('PEXPIRE', KEYS[i], slotTtl)
end
for j = 1, nr do
  local _, cost, member, win = rate(j)
  -- ZADD answers 0 for a member already there (the same request taking twice): count it once.
  if redis.call('ZADD', win, now, member) == 1 then sums[win] = sums[win] + cost end
  changed[win] = true
end
storeChanged()
return {1, unpack(states())}
`;

/**
 * KEYS: the slot keys (ARGV[3] of them), then a window and a sum key per token rate.
 * ARGV: requestId, rateKeyTtlMs, slot count, then per token rate: held member, actual member, actual - held.
 * An entry that aged out is left alone; a second release finds nothing to change.
 */
export const RELEASE = `${PRELUDE}
local id, rateTtl, ns = ARGV[1], ARGV[2], tonumber(ARGV[3])
for i = 1, ns do redis.call('ZREM', KEYS[i], id) end
for j = 1, (#KEYS - ns) / 2 do
  local win, sk = KEYS[ns + 2 * j - 1], KEYS[ns + 2 * j]
  local a = 3 + (j - 1) * 3
  local held, actual, delta = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  local sum, changed = prune(win, sk)
  local score = redis.call('ZSCORE', win, held)
  if score and held ~= actual then
    redis.call('ZREM', win, held)
    redis.call('ZADD', win, score, actual)
    sum = sum + delta
    changed = true
  end
  if changed then store(win, sk, sum, rateTtl) end
end
return 1
`;

/**
 * KEYS: the slot keys (ARGV[3] of them), then a window and a sum key per rate.
 * ARGV: requestId, rateKeyTtlMs, slot count, then per rate: member, cost.
 */
export const UNDO = `${PRELUDE}
local id, rateTtl, ns = ARGV[1], ARGV[2], tonumber(ARGV[3])
for i = 1, ns do redis.call('ZREM', KEYS[i], id) end
for j = 1, (#KEYS - ns) / 2 do
  local win, sk = KEYS[ns + 2 * j - 1], KEYS[ns + 2 * j]
  local a = 3 + (j - 1) * 2
  local sum, changed = prune(win, sk)
  if redis.call('ZREM', win, ARGV[a + 1]) == 1 then
    sum = sum - tonumber(ARGV[a + 2])
    changed = true
  end
  if changed then store(win, sk, sum, rateTtl) end
end
return 1
`;

/**
 * KEYS: slot keys; ARGV: leaseMs, slotKeyTtlMs, then the request id holding a lease in each key.
 * XX: a lease that already expired and was pruned (another instance took the slot) stays gone.
 */
export const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease, ttl = tonumber(ARGV[1]), ARGV[2]
for i = 1, #KEYS do
  if redis.call('ZADD', KEYS[i], 'XX', 'CH', now + lease, ARGV[2 + i]) == 1 then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1
`;

/**
 * Frees the slots of many requests at once (those with no token windows to correct): the end of every
 * request that finished in one event-loop turn, in one round trip.
 * KEYS: slot keys; ARGV: the request id holding each.
 */
export const RELEASE_SLOTS = `
for i = 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[i]) end
return 1
`;

/**
 * Takes the slots of many requests that have no rate windows (most of them), each all-or-nothing and in
 * order, as if each ran TAKE alone: the takes of one event-loop turn in one round trip.
 * KEYS: every request's slot keys, one after another. ARGV: leaseMs, slotKeyTtlMs, then per request:
 * its id, its slot count, each slot's cap. Returns per request 0 (taken) or the index of the refused slot.
 */
export const TAKE_SLOTS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease, slotTtl = tonumber(ARGV[1]), ARGV[2]
local out, k, a = {}, 1, 3
while a <= #ARGV do
  local id, ns = ARGV[a], tonumber(ARGV[a + 1])
  local refused = 0
  for i = 0, ns - 1 do
    redis.call('ZREMRANGEBYSCORE', KEYS[k + i], '-inf', now)
    if refused == 0 and redis.call('ZCARD', KEYS[k + i]) >= tonumber(ARGV[a + 2 + i]) then refused = i + 1 end
  end
  if refused == 0 then
    for i = 0, ns - 1 do
      redis.call('ZADD', KEYS[k + i], now + lease, id)
      redis.call('PEXPIRE', KEYS[k + i], slotTtl)
    end
  end
  out[#out + 1] = refused
  k = k + ns
  a = a + 2 + ns
end
return out
`;

/**
 * Removes from one slot key every member (request id) that starts with ARGV[1]: the leases a killed
 * process left, freed by its successor on the same data dir. Returns how many.
 */
export const DROP_BY_PREFIX = `
local n = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(m, 1, #ARGV[1]) == ARGV[1] then redis.call('ZREM', KEYS[1], m); n = n + 1 end
end
return n
`;
