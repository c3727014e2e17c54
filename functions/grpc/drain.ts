/**
 * The bounded graceful drain of the server (SIGTERM): health turns NOT_SERVING and Watch streams
 * end, no new call is accepted (GOAWAY), streams end with UNAVAILABLE after the frames in hand,
 * unary calls finish; whatever still runs at the bound is cancelled.
 */
import type * as grpc from '@grpc/grpc-js';
import type { HealthService, ReadinessMonitor } from './health.ts';
import type { GrpcMetrics } from './prometheus.ts';
import type { ActiveStreams } from './stream-stop.ts';

/** The parts of a server a drain acts on. */
export interface DrainableServer {
  server: grpc.Server;
  health: HealthService;
  monitor: ReadinessMonitor;
  metrics: GrpcMetrics;
  streams: ActiveStreams;
}

/** Drains `parts` within `timeoutMs`; resolves with how it ended. Safe to call again. */
export async function drainServer(
  parts: DrainableServer,
  timeoutMs: number,
): Promise<'drained' | 'forced'> {
  const { server, health, streams } = parts;
  if (!streams.draining) {
    parts.monitor.stop();
    health.setAll('NOT_SERVING');
    parts.metrics.serving.set(0);
    health.endWatches();
    streams.drain();
  }
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    new Promise<'drained'>((resolve) => server.tryShutdown(() => resolve('drained'))),
    new Promise<'forced'>((resolve) => {
      timer = setTimeout(() => resolve('forced'), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (outcome === 'forced') server.forceShutdown();
  return outcome;
}
