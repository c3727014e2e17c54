/**
 * A session's temporal state in Redis (docs/design.md section 4.5b): its bit bucket and the image
 * its viewer has, for the Lambdas, whose frames of one session may land on any instance. A gRPC
 * stream holds the same state in memory and reads it here only for a session's first frame.
 *
 * Key `temporal:<owner>:<session>` (under the configured prefix) is a hash: `bucket` (JSON),
 * `viewer` (the bytes last sent), `viewer_source` (JSON: what they were made from, `ViewerSource`)
 * and `v`, a version. A frame reads all but `viewer`: the bytes (up to 2 MiB) are fetched only
 * when the frame must be measured against them, never for a still screen's repeats. Writes are compare-and-set on `v`; a writer that lost the race reads the
 * newer state and applies its frame's change to it again, so no frame's bytes go uncounted. The key
 * expires {@link TEMPORAL_STATE_TTL_SECONDS} after its last write: a session idle that long starts
 * again with a full bucket, and its viewer has long since repainted.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { type BucketState, bucketStateSchema } from '../../core/temporal/bit-bucket.ts';
import {
  applyChange,
  type TemporalChange,
  type TemporalState,
  type ViewerSource,
} from '../../core/temporal/session-state.ts';
import { logger } from '../observability.ts';
import { redisScript, runScript } from '../redis/script.ts';
import type { Runtime } from '../runtime.ts';

/** How long a session's temporal state outlives its last frame. */
export const TEMPORAL_STATE_TTL_SECONDS = 120;

/** Writes tried before a frame's change is given up (each a read and a compare-and-set). */
const WRITE_ATTEMPTS = 3;

/** Redis key of a session's temporal state (before the configured prefix). */
export const temporalStateKey = (userId: string, sessionId: string) =>
  `temporal:${userId}:${sessionId}`;

// KEYS[1]; ARGV: expected version ('' = absent), bucket JSON, new version, viewer op ('set' |
// 'source' | 'clear' | 'keep'), viewer bytes, viewer source JSON, TTL seconds.
const COMPARE_AND_SET = redisScript(`
local current = redis.call('HGET', KEYS[1], 'v')
if current == false then current = '' end
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'bucket', ARGV[2], 'v', ARGV[3])
if ARGV[4] == 'set' then
  redis.call('HSET', KEYS[1], 'viewer', ARGV[5], 'viewer_source', ARGV[6])
elseif ARGV[4] == 'source' then
  redis.call('HSET', KEYS[1], 'viewer_source', ARGV[6])
elseif ARGV[4] == 'clear' then
  redis.call('HDEL', KEYS[1], 'viewer', 'viewer_source')
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
return 1
`);

/** A state read from Redis, with the version to state when writing it back. */
export interface StoredTemporalState {
  readonly state: TemporalState;
  readonly version: string;
}

/** An edit changes at most a quarter of a screen's tiles; 8K in 32 px tiles has 32,400. */
const MAX_EDIT_TILES = 8_100;

/** A ladder memory holds one outcome per ladder step; more is not one this service wrote. */
const MAX_LADDER_STEPS = 16;

const ladderMemorySchema = z
  .record(
    z.string().max(64),
    z.object({
      bytes: z.number().int().nonnegative(),
      encodeMs: z.number().nonnegative(),
      ssim: z.number().min(-1).max(1).optional(),
      measureMs: z.number().nonnegative().optional(),
    }),
  )
  .refine((memory) => Object.keys(memory).length <= MAX_LADDER_STEPS);

const viewerSourceSchema = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  digest: z.string().max(128),
  ssim: z.number().min(-1).max(1),
  psnrDb: z.number(),
  reportedSsim: z.number().min(-1).max(1).optional(),
  tiles: z.string().max(1_000_000).optional(),
  stalledAt: z.number().nonnegative().optional(),
  target: z.number().min(-1).max(1).optional(),
  ladder: ladderMemorySchema.optional(),
  edit: z
    .object({
      tiles: z.array(z.number().int().nonnegative()).max(MAX_EDIT_TILES),
      ssim: z.number().min(-1).max(1),
    })
    .optional(),
}) satisfies z.ZodType<ViewerSource>;

/** A JSON field checked by `schema`; undefined when absent or malformed (as if never written). */
function parseField<T>(schema: z.ZodType<T>, text: Buffer | null | undefined): T | undefined {
  if (!text) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(text.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The viewer's bytes, fetched when first asked for; undefined when Redis does not answer or the
 * state changed since it was read (the bytes would not be those the source describes).
 */
function viewerBytes(runtime: Runtime, key: string, version: string) {
  let fetched: Promise<Buffer | undefined> | undefined;
  return (): Promise<Buffer | undefined> => {
    fetched ??= (async () => {
      const result = await runtime.redis?.run((redis: Redis) =>
        redis.hmgetBuffer(key, 'viewer', 'v'),
      );
      if (!result?.ok) return undefined;
      const [bytes, current] = result.value;
      return current?.toString('utf8') === version ? (bytes ?? undefined) : undefined;
    })();
    return fetched;
  };
}

/** Reads the session's state; null when Redis did not answer (down, breaker open, timeout). */
export async function readTemporalState(
  runtime: Runtime,
  userId: string,
  sessionId: string,
): Promise<StoredTemporalState | null> {
  const key = temporalStateKey(userId, sessionId);
  const result = await runtime.redis?.run((redis: Redis) =>
    redis.hmgetBuffer(key, 'bucket', 'viewer_source', 'v'),
  );
  if (!result?.ok) return null;
  const [bucket, source, read] = result.value;
  const version = read?.toString('utf8') ?? '';
  const viewerSource = parseField(viewerSourceSchema, source);
  return {
    state: {
      bucket: parseField<BucketState>(bucketStateSchema, bucket),
      viewer: viewerSource && {
        ...viewerSource,
        image: viewerBytes(runtime, key, version),
      },
    },
    version,
  };
}

/** How the viewer's fields change: a new image, only its source, none, or none any more. */
async function viewerArgs(
  before: TemporalState,
  after: TemporalState,
): Promise<[string, Buffer, string]> {
  const { viewer } = after;
  const none = Buffer.alloc(0);
  if (!viewer) return [before.viewer ? 'clear' : 'keep', none, ''];
  if (viewer === before.viewer) return ['keep', none, ''];
  const { image, ...source } = viewer;
  if (image === before.viewer?.image) return ['source', none, JSON.stringify(source)];
  const bytes = await image();
  return bytes ? ['set', bytes, JSON.stringify(source)] : ['clear', none, ''];
}

async function compareAndSet(
  runtime: Runtime,
  key: string,
  stored: StoredTemporalState,
  after: TemporalState,
): Promise<boolean | null> {
  const version = String((Number(stored.version) || 0) + 1);
  const viewer = await viewerArgs(stored.state, after);
  const result = await runtime.redis?.run((redis) =>
    runScript(
      redis,
      COMPARE_AND_SET,
      [key],
      [
        stored.version,
        JSON.stringify(after.bucket ?? null),
        version,
        ...viewer,
        TEMPORAL_STATE_TTL_SECONDS,
      ],
    ),
  );
  if (!result?.ok) return null;
  return result.value === 1;
}

/**
 * Applies a frame's change to the session's state `read` (as {@link readTemporalState} returned
 * it), again to a newer state when another frame wrote first. A state that stays out of reach (Redis
 * down, or {@link WRITE_ATTEMPTS} lost races) is logged and left: it paces frames, it is not a
 * record, and the session's next frames start from what Redis holds.
 */
export async function saveTemporalChange(
  runtime: Runtime,
  userId: string,
  sessionId: string,
  read: StoredTemporalState,
  change: TemporalChange,
): Promise<void> {
  const key = temporalStateKey(userId, sessionId);
  let stored: StoredTemporalState | null = read;
  for (let attempt = 0; attempt < WRITE_ATTEMPTS && stored; attempt++) {
    const written = await compareAndSet(runtime, key, stored, applyChange(stored.state, change));
    if (written !== false) return;
    stored = await readTemporalState(runtime, userId, sessionId);
  }
  logger.warn('could not store a session temporal state', { sessionId });
}
