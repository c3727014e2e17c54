/**
 * The rate limiter's Lua script: the algorithm of `core/rate-limit/sliding-window.ts` run
 * atomically in Redis, on the server's clock, for all windows of a request in one round trip.
 *
 * KEYS[1]: the request's counters, one string per identity and scope holding every window's live
 *   sub-buckets as MessagePack: `{ {window_ms, index, count, index, count, ...}, ... }` in the
 *   order of the plan's windows, sub-buckets oldest first. It comes from KEYS, so the client's
 *   `keyPrefix` applies.
 * ARGV: cost, sub-buckets per window, then `limit, window_ms` for each window.
 * Reply: allowed (0/1), then per window: allowed, limit, remaining, reset_ms, retry_after_ms.
 *
 * One string for all windows takes three commands per check (TIME, GET, SET) where a hash per
 * window took seven (TIME, and HGETALL and HINCRBY per window): `npm run bench:limiter`.
 * An admitted request rewrites the string without the sub-buckets that left their window, with an
 * expiry at the moment the newest sub-bucket of every window has left it, so idle keys disappear
 * on their own. A rejected request writes nothing: it consumes no quota. A window whose length
 * changed since the string was written (a new configuration) starts empty.
 */
export const RATE_LIMIT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local k = tonumber(ARGV[2])
local n = (#ARGV - 2) / 2
local raw = redis.call('GET', KEYS[1])
local stored = raw and cmsgpack.unpack(raw) or {}
local allowed = 1
local limits, gs, currents, lives, totals, firsts = {}, {}, {}, {}, {}, {}
for i = 1, n do
  local limit = tonumber(ARGV[1 + 2 * i])
  local w = tonumber(ARGV[2 + 2 * i])
  local g = w / k
  local current = math.floor(now / g)
  local oldest = current - k
  local old = stored[i]
  local live, total, first = { w }, 0, current
  if type(old) == 'table' and old[1] == w then
    for j = 2, #old - 1, 2 do
      local index, count = old[j], old[j + 1]
      if index >= oldest then
        live[#live + 1] = index
        live[#live + 1] = count
        total = total + count
        if index < first then first = index end
      end
    end
  end
  if total + cost > limit then allowed = 0 end
  limits[i], gs[i], currents[i], lives[i], totals[i], firsts[i] = limit, g, current, live, total, first
end
local reply = { allowed }
local ttl = 1
for i = 1, n do
  local limit, g, current, live, total = limits[i], gs[i], currents[i], lives[i], totals[i]
  local fits = total + cost <= limit
  local used = total
  if allowed == 1 then
    local m = #live
    -- A clock that stepped back counts the request in the newest sub-bucket: later, never sooner.
    if m > 1 and live[m - 1] >= current then
      live[m] = live[m] + cost
    else
      live[m + 1] = current
      live[m + 2] = cost
    end
    used = used + cost
    local expires = (live[#live - 1] + k + 1) * g - now
    if expires > ttl then ttl = expires end
  end
  local retry = 0
  if not fits then
    -- Sub-buckets are oldest first: quota comes back as they leave the window.
    local needed = total + cost - limit
    local freed = 0
    retry = g * (k + 1)
    for j = 2, #live - 1, 2 do
      freed = freed + live[j + 1]
      if freed >= needed then
        retry = (live[j] + k + 1) * g - now
        break
      end
    end
  end
  local remaining = limit - used
  if remaining < 0 then remaining = 0 end
  reply[#reply + 1] = fits and 1 or 0
  reply[#reply + 1] = limit
  reply[#reply + 1] = remaining
  reply[#reply + 1] = (firsts[i] + k + 1) * g - now
  reply[#reply + 1] = retry
end
if allowed == 1 then
  redis.call('SET', KEYS[1], cmsgpack.pack(lives), 'PX', math.ceil(ttl))
end
return reply
`;
