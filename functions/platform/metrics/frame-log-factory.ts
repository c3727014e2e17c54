/**
 * Chooses and builds the frame-event log from the settings (`METRICS_LOG`, docs/design.md
 * section 5.8): Kinesis on AWS, a Redis stream locally (falling back to Postgres while Redis cannot
 * take an append), or Postgres alone; always behind a batcher, so that concurrent frames of one
 * process share an append.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Sql } from '../db/database.ts';
import { logger, metrics } from '../observability.ts';
import type { GuardedRedis } from '../redis/guarded-redis.ts';
import type { Settings } from '../settings.ts';
import { batching } from './batching-frame-log.ts';
import { withFallback } from './fallback-frame-log.ts';
import type { FrameEventLog, FrameEventLogKind } from './frame-event-log.ts';
import { createKinesisFrameLog } from './kinesis-frame-log.ts';
import { createPostgresFrameLog } from './postgres-frame-log.ts';
import { createRedisStreamFrameLog } from './redis-stream-frame-log.ts';

/** What the log is built from. */
export interface FrameLogDependencies {
  sql: Sql;
  /** Creates the log's own Redis client; undefined when no Redis is configured. */
  redis: (() => GuardedRedis) | undefined;
}

/** The kind `METRICS_LOG` names, `auto` resolved to the first one configured. */
export function frameLogKind(settings: Settings, hasRedis: boolean): FrameEventLogKind {
  if (settings.METRICS_LOG !== 'auto') return settings.METRICS_LOG;
  if (settings.METRICS_STREAM_NAME) return 'kinesis';
  return hasRedis ? 'redis' : 'postgres';
}

function unbatched(settings: Settings, deps: FrameLogDependencies): FrameEventLog {
  const postgres = createPostgresFrameLog(deps.sql);
  switch (frameLogKind(settings, deps.redis !== undefined)) {
    case 'kinesis': {
      if (!settings.METRICS_STREAM_NAME) {
        throw new Error('METRICS_LOG=kinesis needs METRICS_STREAM_NAME');
      }
      return createKinesisFrameLog({
        // The adapter retries (failed entries alone, with backoff): the SDK's own retries on top
        // would multiply what one frame can wait for its append.
        client: new KinesisClient({ maxAttempts: 1 }),
        streamName: settings.METRICS_STREAM_NAME,
      });
    }
    case 'redis': {
      if (!deps.redis) throw new Error('METRICS_LOG=redis needs REDIS_URL');
      const stream = createRedisStreamFrameLog({
        redis: deps.redis(),
        stream: settings.METRICS_REDIS_STREAM,
      });
      return withFallback(stream, postgres, (error, events) => {
        logger.warn('The metrics stream refused an append; writing it to Postgres', { error });
        metrics.addMetric('FrameEventsFallback', MetricUnit.Count, events);
      });
    }
    case 'postgres':
      return postgres;
  }
}

/** The process's frame-event log. */
export function createFrameLog(settings: Settings, deps: FrameLogDependencies): FrameEventLog {
  return batching(unbatched(settings, deps), {
    lingerMs: settings.METRICS_BATCH_LINGER_MS,
    maxEvents: settings.METRICS_BATCH_MAX_EVENTS,
  });
}
