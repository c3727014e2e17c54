/**
 * The ACL rules of the services' Redis user, in Redis `ACL SETUSER` syntax: the ElastiCache user's
 * access string (lib/constructs/data/redis-cache.ts) and the fault tests' user are built from this
 * one constant, so the tests prove the deployed user can run everything the services send.
 *
 * - `~aic:*`: the keys under the default `REDIS_KEY_PREFIX` only.
 * - `+@read +@write`: strings, hashes and streams (rate limits, live state, idempotency answers,
 *   engine models, the frame-event stream and its consumer group).
 * - `+@scripting`: the Lua scripts (EVALSHA, EVAL); the commands inside a script are checked too.
 * - `+@transaction`: MULTI/EXEC of the stream consumer's acknowledgement.
 * - `+@connection`: HELLO, AUTH, PING, CLIENT SETNAME, QUIT.
 * - `-@dangerous`: nothing administrative, whatever category it is also in.
 * - `+time`: the rate-limit script reads the server clock; TIME is in no category above.
 */
export const REDIS_ACCESS_STRING =
  'on ~aic:* &* -@all +@read +@write +@scripting +@transaction +@connection -@dangerous +time';
