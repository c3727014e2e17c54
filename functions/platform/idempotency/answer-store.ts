/**
 * The answers of named requests in Redis, through the {@link GuardedRedis} every Redis call of the
 * service goes through (breaker, deadline, key prefix). An identity's key holds either a claim
 * (`working`, with a token that tells its holder apart) while the first copy is in the work, or
 * the first answer (`done`) for the idempotency window. Every call fails open: when Redis cannot
 * answer, the request is simply worked again (Postgres still counts it once).
 */
import { randomUUID } from 'node:crypto';
import type { GuardedRedis } from '../redis/guarded-redis.ts';
import { redisScript, runScript } from '../redis/script.ts';

/**
 * How long a claim holds off repeats when its holder never finishes (a process killed mid-frame):
 * longer than the compress function's timeout (25 s), so a slow first copy is never worked twice.
 */
export const CLAIM_TTL_SECONDS = 30;

/** What the store says of an identity when a request asks for it. */
export type Claim<T> =
  /** The request holds the identity: it works, then {@link saveAnswer} or {@link releaseClaim}. */
  | { kind: 'claimed' }
  /** The first copy's answer. */
  | { kind: 'answered'; answer: T }
  /** The first copy is still in the work. */
  | { kind: 'working' }
  /**
   * Redis did not answer (or holds an entry it cannot read): work the request without the store.
   * The claim may have been written all the same (a reply lost to the deadline), so the request
   * still saves its answer or releases the claim like a holder.
   */
  | { kind: 'unavailable' };

type Entry<T> = { state: 'working'; token: string } | { state: 'done'; answer: T };

// One round trip: the entry when there is one, else the claim is written and nothing returned.
const CLAIM = redisScript(`
local entry = redis.call('GET', KEYS[1])
if entry then return entry end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
`);

// A failed request gives its claim up only while it is still its own.
const RELEASE = redisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

const workingEntry = (token: string) => JSON.stringify({ state: 'working', token });

/** A new claim token: it tells the claim's holder apart from any other copy of the request. */
export const claimToken = (): string => randomUUID();

/** Asks for `key` with `token`: claims it, or says it is answered or in the work. */
export async function claimAnswer<T>(
  redis: GuardedRedis,
  key: string,
  token: string,
): Promise<Claim<T>> {
  const result = await redis.run((client) =>
    runScript(client, CLAIM, [key], [workingEntry(token), CLAIM_TTL_SECONDS]),
  );
  if (!result.ok) return { kind: 'unavailable' };
  if (typeof result.value !== 'string') return { kind: 'claimed' };
  const entry = parseEntry<T>(result.value);
  if (entry === undefined) return { kind: 'unavailable' };
  return entry.state === 'done' ? { kind: 'answered', answer: entry.answer } : { kind: 'working' };
}

/** How long an answer is kept, and the largest kept. */
export interface AnswerRetention {
  windowS: number;
  maxBytes: number;
}

/**
 * Keeps `answer` under `key` for the retention window, unless its JSON is over `maxBytes`; returns
 * whether it was kept. A failure, or an answer too large to keep, only loses the replay.
 */
export async function saveAnswer<T>(
  redis: GuardedRedis,
  key: string,
  answer: T,
  retention: AnswerRetention,
): Promise<boolean> {
  const text = JSON.stringify({ state: 'done', answer } satisfies Entry<T>);
  if (Buffer.byteLength(text) > retention.maxBytes) return false;
  const result = await redis.run((client) => client.set(key, text, 'EX', retention.windowS));
  return result.ok;
}

/** Gives up the claim `token` holds on `key`, so that a retry works the request again. */
export async function releaseClaim(redis: GuardedRedis, key: string, token: string): Promise<void> {
  await redis.run((client) => runScript(client, RELEASE, [key], [workingEntry(token)]));
}

function parseEntry<T>(text: string): Entry<T> | undefined {
  try {
    const entry = JSON.parse(text) as Entry<T>;
    return entry.state === 'done' || entry.state === 'working' ? entry : undefined;
  } catch {
    return undefined;
  }
}
