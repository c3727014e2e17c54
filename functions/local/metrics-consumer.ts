/**
 * The local metrics consumer: under `npm start` (and in the tests) the Redis stream of frame
 * events is read by the consumer code the Lambda runs on AWS (docs/design.md section 5.8).
 */
import { hostname } from 'node:os';
import { consumeFrameRecords } from '../app/frame-event-consumer.ts';
import { frameLogKind } from '../platform/metrics/frame-log-factory.ts';
import {
  type RedisStreamConsumer,
  startRedisStreamConsumer,
} from '../platform/metrics/redis-stream-consumer.ts';
import { createRedisClient } from '../platform/redis/client.ts';
import { RedisReauthenticator } from '../platform/redis/reauthenticator.ts';
import { createRedisLogin, getRuntime } from '../platform/runtime.ts';
import type { Settings } from '../platform/settings.ts';

/** The consumer group of the frame-event stream. */
export const METRICS_CONSUMER_GROUP = 'metrics-consumer';

/** How long one read waits for new events (ms). */
const BLOCK_MS = 200;

/**
 * Starts consuming the Redis stream of frame events when the settings make it the frame log;
 * undefined otherwise (the events then go to Postgres at once, or to Kinesis). `close()` flushes
 * the runtime's frame log, waits until the consumer has caught up, and stops it.
 */
export async function startLocalMetricsConsumer(
  settings: Settings,
  onError: (error: unknown) => void,
  consumer = `local-${hostname()}`,
): Promise<(RedisStreamConsumer & { close(): Promise<void> }) | undefined> {
  if (!settings.REDIS_URL || frameLogKind(settings, true) !== 'redis') return undefined;
  // The services' login, renewed the same way when Redis refuses it (a rotated password).
  const credentials = createRedisLogin(settings);
  const redis = createRedisClient({
    url: settings.REDIS_URL,
    commandTimeoutMs: BLOCK_MS + 5000,
    connectionName: `aic-metrics-${consumer}`,
    ...(credentials ? { ...(await credentials.current()), credentials } : {}),
  });
  // Without Redis now, the client reconnects by itself and the loop starts reading once it is back.
  await redis.connect().catch(onError);
  const running = await startRedisStreamConsumer({
    redis,
    stream: `${settings.REDIS_KEY_PREFIX}${settings.METRICS_REDIS_STREAM}`,
    group: METRICS_CONSUMER_GROUP,
    consumer,
    batchSize: settings.METRICS_BATCH_MAX_EVENTS,
    blockMs: BLOCK_MS,
    claimIdleMs: 30_000,
    handle: async (records) => {
      await consumeFrameRecords((await getRuntime()).db.sql, records);
    },
    onError,
  });
  return {
    ...running,
    // Every frame answered is consumed before the process (and the Redis it started) goes away.
    close: async () => {
      await (await getRuntime().catch(() => undefined))?.frameLog.close();
      await running.settled(5000).catch(onError);
      await running.stop();
      RedisReauthenticator.of(redis)?.stop();
      redis.disconnect();
    },
  };
}
