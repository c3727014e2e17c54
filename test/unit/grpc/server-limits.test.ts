import { describe, expect, it } from 'vitest';
import { MAX_RECEIVE_MESSAGE_BYTES } from '../../../functions/grpc/message-limits.ts';
import { grpcLimits, serverOptions } from '../../../functions/grpc/server-limits.ts';
import { loadSettings } from '../../../functions/platform/settings.ts';

describe('the limits of the gRPC server', () => {
  it('sets the connection limits and the keepalive policy from the settings defaults', () => {
    const options = serverOptions(grpcLimits(loadSettings({})), []);
    expect(options).toEqual({
      'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_RECEIVE_MESSAGE_BYTES,
      'grpc.max_concurrent_streams': 32,
      'grpc-node.max_session_memory': 32,
      'grpc.max_connection_age_ms': 1_800_000,
      'grpc.max_connection_age_grace_ms': 300_000,
      'grpc.max_connection_idle_ms': 600_000,
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      interceptors: [],
    });
  });

  it('takes every limit from its setting', () => {
    const limits = grpcLimits(
      loadSettings({
        GRPC_MAX_CONCURRENT_STREAMS: '7',
        GRPC_MAX_SESSION_MEMORY_MB: '8',
        GRPC_MAX_CONNECTION_AGE_MS: '1000',
        GRPC_MAX_CONNECTION_AGE_GRACE_MS: '100',
        GRPC_MAX_CONNECTION_IDLE_MS: '2000',
        GRPC_KEEPALIVE_TIME_MS: '3000',
        GRPC_KEEPALIVE_TIMEOUT_MS: '400',
        GRPC_MAX_HEALTH_WATCHES_PER_CONNECTION: '2',
        GRPC_MAX_CALLS_PER_USER: '3',
        GRPC_MAX_FRAMES_PER_USER: '5',
        GRPC_MAX_PIXELS_IN_FLIGHT: '1000000',
        GRPC_MAX_PIXELS_PER_USER: '500000',
        GRPC_STREAM_MAX_SESSIONS: '6',
      }),
    );
    expect(limits).toEqual({
      maxConcurrentStreams: 7,
      maxSessionMemoryMb: 8,
      maxConnectionAgeMs: 1000,
      maxConnectionAgeGraceMs: 100,
      maxConnectionIdleMs: 2000,
      keepaliveTimeMs: 3000,
      keepaliveTimeoutMs: 400,
      maxHealthWatchesPerConnection: 2,
      maxCallsPerUser: 3,
      maxFramesPerUser: 5,
      maxPixelsInFlight: 1_000_000,
      maxPixelsPerUser: 500_000,
      streamMaxSessions: 6,
    });
  });

  it('keeps a stream the sessions of the frames in its work at least', () => {
    expect(() => loadSettings({ GRPC_STREAM_MAX_SESSIONS: '1' })).toThrow(
      /GRPC_STREAM_MAX_SESSIONS/,
    );
    expect(() => loadSettings({ GRPC_MAX_CALLS_PER_USER: '0' })).toThrow(/GRPC_MAX_CALLS_PER_USER/);
  });
});
