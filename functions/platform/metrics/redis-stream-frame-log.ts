/**
 * The frame-event log on a Redis stream (`XADD`), for `npm start` and the tests: the same producer
 * and consumer contract as Kinesis on AWS (docs/design.md section 5.8), on a real server. With
 * AOF on, an `XADD` that returned is as durable as the server's fsync policy; the local runtime's
 * `redis-server` keeps the stream in memory only.
 */
import type { FrameEvent } from '../../core/contracts/frame-event.ts';
import { DependencyUnavailableError } from '../../core/errors.ts';
import type { GuardedRedis } from '../redis/guarded-redis.ts';
import type { FrameEventLog } from './frame-event-log.ts';

/** The field of a stream entry that holds the event's JSON. */
export const EVENT_FIELD = 'e';

/** Options of {@link createRedisStreamFrameLog}. */
export interface RedisStreamFrameLogOptions {
  /** The log's own client: `close()` closes it. */
  redis: GuardedRedis;
  /** The stream's key, before the client's key prefix. */
  stream: string;
}

/**
 * A log that appends each event as one stream entry, a whole batch in one pipeline (one round
 * trip). The breaker and deadline of {@link GuardedRedis} apply: an append that Redis does not
 * take in time rejects, and may still have been written (its event ids make it count once).
 */
export function createRedisStreamFrameLog(options: RedisStreamFrameLogOptions): FrameEventLog {
  const { redis, stream } = options;
  return {
    kind: 'redis',
    async append(events: readonly FrameEvent[]) {
      if (events.length === 0) return;
      const result = await redis.run(async (client) => {
        const pipeline = client.pipeline();
        for (const event of events) pipeline.xadd(stream, '*', EVENT_FIELD, JSON.stringify(event));
        const replies = (await pipeline.exec()) ?? [];
        const failed = replies.find(([error]) => error !== null);
        if (failed) throw failed[0];
        return replies.length;
      });
      if (!result.ok || result.value !== events.length) {
        throw new DependencyUnavailableError('metrics stream', {
          cause: result.ok ? new Error('the pipeline lost replies') : result,
        });
      }
    },
    close: () => redis.close(),
  };
}
