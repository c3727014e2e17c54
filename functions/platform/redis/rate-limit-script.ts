/**
 * The rate limiter's Lua script: the algorithm of `core/rate-limit/sliding-window.ts` run
 * atomically in Redis, on the server's clock, for all windows of a request in one round trip.
 *
 * KEYS[i]: one hash per window (sub-bucket index -> count); all keys of one call share a hash tag,
 *   so the script also runs on Redis Cluster. Every key comes from KEYS, so the client's
 *   `keyPrefix` applies to all of them (keys built inside Lua would not get it).
 * ARGV: cost, sub-buckets per window, then `limit, window_ms` for each key.
 * Reply: allowed (0/1), then per window: allowed, limit, remaining, reset_ms, retry_after_ms.
 *
 * Stale sub-buckets are deleted on every call; the request that opens a sub-bucket sets the key's
 * TTL to the moment that sub-bucket leaves the window, so idle keys disappear on their own. A rejected request
 * writes nothing but that pruning: it consumes no quota.
 */
export const RATE_LIMIT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local k = tonumber(ARGV[2])
local n = #KEYS
local seen = {}
local allowed = 1
for i = 1, n do
  local limit = tonumber(ARGV[1 + 2 * i])
  local g = tonumber(ARGV[2 + 2 * i]) / k
  local current = math.floor(now / g)
  local oldest = current - k
  local fields = redis.call('HGETALL', KEYS[i])
  local stale, total, first = nil, 0, current
  for j = 1, #fields, 2 do
    local index = tonumber(fields[j])
    if index < oldest then
      stale = stale or {}
      stale[#stale + 1] = fields[j]
    else
      total = total + tonumber(fields[j + 1])
      if index < first then first = index end
    end
  end
  if stale then redis.call('HDEL', KEYS[i], unpack(stale)) end
  if total + cost > limit then allowed = 0 end
  seen[i] = { limit, g, current, oldest, fields, total, first }
end
local reply = { allowed }
for i = 1, n do
  local limit, g, current, oldest, fields, total, first = unpack(seen[i])
  local fits = total + cost <= limit
  local used = total
  if allowed == 1 then
    -- The expiry only moves when a new newest sub-bucket starts; within one it is the same instant.
    if redis.call('HINCRBY', KEYS[i], current, cost) == cost then
      redis.call('PEXPIRE', KEYS[i], (current + k + 1) * g - now)
    end
    used = used + cost
  end
  local retry = 0
  if not fits then
    -- Only a rejection needs the live sub-buckets in order (to find when enough quota frees up).
    local live = {}
    for j = 1, #fields, 2 do
      local index = tonumber(fields[j])
      if index >= oldest then live[#live + 1] = { index, tonumber(fields[j + 1]) } end
    end
    table.sort(live, function(a, b) return a[1] < b[1] end)
    local needed = total + cost - limit
    local freed = 0
    retry = g * (k + 1)
    for j = 1, #live do
      freed = freed + live[j][2]
      if freed >= needed then
        retry = (live[j][1] + k + 1) * g - now
        break
      end
    end
  end
  local remaining = limit - used
  if remaining < 0 then remaining = 0 end
  reply[#reply + 1] = fits and 1 or 0
  reply[#reply + 1] = limit
  reply[#reply + 1] = remaining
  reply[#reply + 1] = (first + k + 1) * g - now
  reply[#reply + 1] = retry
end
return reply
`;
