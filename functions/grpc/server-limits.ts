/**
 * The limits of the gRPC edge (docs/design.md section 3, Limits), read from the settings, so the
 * Fargate task and `npm start` run with the same ones, and the grpc-js server options among them.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Settings } from '../platform/settings.ts';
import { MAX_RECEIVE_MESSAGE_BYTES } from './message-limits.ts';

/** The limits of one gRPC server. */
export interface GrpcLimits {
  /** HTTP/2 streams (calls) open at once on one connection. */
  maxConcurrentStreams: number;
  /** Memory one connection may hold, in MB (Node's `maxSessionMemory`). */
  maxSessionMemoryMb: number;
  maxConnectionAgeMs: number;
  maxConnectionAgeGraceMs: number;
  maxConnectionIdleMs: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /** Health `Watch` calls open at once on one connection. */
  maxHealthWatchesPerConnection: number;
  /** Calls of one user in flight at once. */
  maxCallsPerUser: number;
  /** Frames of one user in the work at once. */
  maxFramesPerUser: number;
  /** Decoded pixels of every frame in the work in the process together. */
  maxPixelsInFlight: number;
  /** Decoded pixels of one user's frames in the work together. */
  maxPixelsPerUser: number;
  /** Sessions whose engine model one stream keeps. */
  streamMaxSessions: number;
}

/** The limits the settings give (`GRPC_MAX_*`, `GRPC_KEEPALIVE_*`, `GRPC_STREAM_MAX_SESSIONS`). */
export function grpcLimits(settings: Settings): GrpcLimits {
  return {
    maxConcurrentStreams: settings.GRPC_MAX_CONCURRENT_STREAMS,
    maxSessionMemoryMb: settings.GRPC_MAX_SESSION_MEMORY_MB,
    maxConnectionAgeMs: settings.GRPC_MAX_CONNECTION_AGE_MS,
    maxConnectionAgeGraceMs: settings.GRPC_MAX_CONNECTION_AGE_GRACE_MS,
    maxConnectionIdleMs: settings.GRPC_MAX_CONNECTION_IDLE_MS,
    keepaliveTimeMs: settings.GRPC_KEEPALIVE_TIME_MS,
    keepaliveTimeoutMs: settings.GRPC_KEEPALIVE_TIMEOUT_MS,
    maxHealthWatchesPerConnection: settings.GRPC_MAX_HEALTH_WATCHES_PER_CONNECTION,
    maxCallsPerUser: settings.GRPC_MAX_CALLS_PER_USER,
    maxFramesPerUser: settings.GRPC_MAX_FRAMES_PER_USER,
    maxPixelsInFlight: settings.GRPC_MAX_PIXELS_IN_FLIGHT,
    maxPixelsPerUser: settings.GRPC_MAX_PIXELS_PER_USER,
    streamMaxSessions: settings.GRPC_STREAM_MAX_SESSIONS,
  };
}

/**
 * The grpc-js server options of `limits`. The server-wide receive limit is the largest one (the
 * compress methods'); the edge interceptor lowers it for every other method. grpc-js servers
 * enforce no client ping policy (`grpc.http2.min_ping_interval_without_data_ms` and
 * `grpc.keepalive_permit_without_calls` are client options there); Node's HTTP/2 ends a connection
 * that floods pings or settings without reading their acknowledgements.
 */
export function serverOptions(
  limits: GrpcLimits,
  interceptors: grpc.ServerInterceptor[],
): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_RECEIVE_MESSAGE_BYTES,
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc-node.max_session_memory': limits.maxSessionMemoryMb,
    'grpc.max_connection_age_ms': limits.maxConnectionAgeMs,
    'grpc.max_connection_age_grace_ms': limits.maxConnectionAgeGraceMs,
    'grpc.max_connection_idle_ms': limits.maxConnectionIdleMs,
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    interceptors,
  };
}
