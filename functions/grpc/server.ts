/**
 * The gRPC server of the Fargate task (docs/design.md section 3): `AICCompressionService` over the same
 * core and platform as the Lambdas, the standard health service tied to readiness, server
 * reflection (v1 and v1alpha), and a bounded graceful drain.
 *
 * Every call: request id from `x-request-id` (or a new UUID), echoed in the initial metadata, the
 * trailers and the logs; the bearer token of `authorization` checked like the local runtime does;
 * the HTTP rate limiter; work abandoned when the call is cancelled or its deadline passes. Errors
 * are the service's typed errors with their one gRPC status (`ERROR_STATUS`), and carry
 * `aic-error-code`, `aic-error-details` (JSON list of `{field, message, code}`, for validation) and
 * for rate limits `retry-after` plus the `x-ratelimit-*` fields, all in trailing metadata.
 */
import type { Readable, Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { compress } from '../app/compress-service.ts';
import { recordNetworkUpdate } from '../app/network-service.ts';
import { MAX_FRAME_BYTES_GRPC } from '../core/contracts/compress.ts';
import type { ReadinessResponse } from '../core/contracts/health.ts';
import {
  AicError,
  DeadlineExceededError,
  DependencyUnavailableError,
  type ErrorCode,
  toAicError,
  ValidationError,
} from '../core/errors.ts';
import { resolveRequestId } from '../core/request-id.ts';
import { classifyDependencyError } from '../platform/dependency-errors.ts';
import { bearerToken, type JwtSettings, jwtSettingsFromEnv, verifyToken } from '../platform/jwt.ts';
import { logger } from '../platform/observability.ts';
import { checkReadiness } from '../platform/readiness.ts';
import { getRuntime, type Runtime } from '../platform/runtime.ts';
import { compressPhases, STREAM_PIPELINE_DEPTH, StreamCompressor } from './compress-stream.ts';
import { HealthService, type ReadinessMonitor, startReadinessMonitor } from './health.ts';
import {
  toCompressCommand,
  toCompressFrameResponse,
  toHintsInput,
  toNetworkAnalysis,
  toNetworkEstimateMessage,
  toNetworkUpdate,
} from './mapping.ts';
import { analyseNetwork, compressionHints } from './network.ts';
import { GrpcMetrics } from './prometheus.ts';
import {
  aicServiceDefinition,
  type CompressFrameRequestMessage,
  type CompressStreamRequestMessage,
  type CompressStreamResponseMessage,
  type GetCompressionHintsRequestMessage,
  loadAicDefinition,
  loadReflectedDefinition,
  type NetworkRequestMessage,
} from './proto.ts';
import {
  createGrpcRateLimiter,
  type GrpcRateLimiter,
  type RateLimitMetadata,
  RPC_ROUTES,
} from './rate-limit.ts';

/** Room for the other fields of a request next to a frame at the cap. */
export const MESSAGE_OVERHEAD_BYTES = 64 * 1024;

/** The receive limit: the 10 MiB frame cap plus the rest of the message. */
export const MAX_RECEIVE_MESSAGE_BYTES = MAX_FRAME_BYTES_GRPC + MESSAGE_OVERHEAD_BYTES;

/** Errors that concern one frame of a stream: answered as that frame's `error`, the stream goes on. */
const FRAME_ERRORS: ReadonlySet<ErrorCode> = new Set([
  'VALIDATION_FAILED',
  'UNPROCESSABLE_FRAME',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'NOT_FOUND',
  'FORBIDDEN',
]);

/** Options of {@link startGrpcServer}. */
export interface GrpcServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Address to bind; `0.0.0.0` in the container, loopback locally. */
  host?: string;
  /** The shared dependencies; default the container's {@link getRuntime}. */
  runtime?: () => Promise<Runtime>;
  /** Readiness behind the health service; default the checks of `GET /readiness`. */
  readiness?: () => Promise<ReadinessResponse>;
  /** How often readiness is re-checked for the health service, ms. Default 5000. */
  healthIntervalMs?: number;
  /** Token checks; default from the environment, like the local runtime. */
  jwt?: JwtSettings;
  /** Rate limiter; default the HTTP one over the runtime's Redis. */
  rateLimiter?: GrpcRateLimiter;
  /** Prometheus registry; default a new one. */
  metrics?: GrpcMetrics;
}

/** A running gRPC server. */
export interface GrpcServer {
  port: number;
  server: grpc.Server;
  health: HealthService;
  metrics: GrpcMetrics;
  monitor: ReadinessMonitor;
  /** Whether a drain has begun. */
  readonly draining: boolean;
  /**
   * Drains: health turns NOT_SERVING and Watch streams end, no new call is accepted (GOAWAY),
   * streams end with UNAVAILABLE after the frame in hand, unary calls finish. Whatever is still
   * running after `timeoutMs` is cancelled. Resolves with how it ended.
   */
  shutdown(timeoutMs: number): Promise<'drained' | 'forced'>;
}

/** Why a call ended early for the server's own reasons. */
class StreamStopped extends Error {}

interface CallContext {
  method: keyof typeof RPC_ROUTES;
  requestId: string;
  started: number;
  userId?: string;
  /** Aborted when the client cancels or the deadline passes. */
  signal: AbortSignal;
  frames: number;
}

/** What a frame of a stream is answered with, and the rate-limit fields its check returned. */
interface FrameOutcome {
  message: CompressStreamResponseMessage;
  limits: Record<string, string>;
}

function statusName(code: number): string {
  return grpc.status[code] ?? String(code);
}

/** The deadline of a call as an epoch in ms (Infinity when none). */
function deadlineOf(call: { getDeadline(): grpc.Deadline }): number {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/**
 * grpc-js buffers up to 16 messages each way (the streams' object-mode default): with frames of up
 * to 10 MiB that is 160 MiB per call. One message each way keeps a stream's memory at about three
 * frames whatever the client does; HTTP/2 flow control then holds the client back.
 */
function limitBuffering(call: Readable & Writable): void {
  const internals = call as unknown as {
    _readableState?: { highWaterMark: number };
    _writableState?: { highWaterMark: number };
  };
  if (internals._readableState) internals._readableState.highWaterMark = 1;
  if (internals._writableState) internals._writableState.highWaterMark = 1;
}

function metadataOf(error: AicError, requestId: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('x-request-id', requestId);
  metadata.set('aic-error-code', error.code);
  if (error.details?.length) metadata.set('aic-error-details', JSON.stringify(error.details));
  for (const [name, value] of Object.entries(error.headers ?? {})) {
    metadata.set(name.toLowerCase(), value);
  }
  return metadata;
}

function toServiceError(error: AicError, requestId: string): grpc.ServiceError {
  return Object.assign(new Error(error.message), {
    code: error.grpcStatus,
    details: error.message,
    metadata: metadataOf(error, requestId),
  });
}

/** Starts the server on `options.port` and the readiness monitor behind its health service. */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const runtimeOf = options.runtime ?? getRuntime;
  const jwt = options.jwt ?? jwtSettingsFromEnv();
  const registry = options.metrics ?? new GrpcMetrics();
  const health = new HealthService('NOT_SERVING');
  let rateLimiter = options.rateLimiter;
  let draining = false;
  const stopStreams = new Set<() => void>();

  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_RECEIVE_MESSAGE_BYTES,
    // Idle clients are not kept forever; media servers keep their channel busy anyway.
    'grpc.max_connection_idle_ms': 10 * 60_000,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
  });

  const runtime = async (): Promise<Runtime> => {
    try {
      return await runtimeOf();
    } catch (error) {
      // The runtime could not start (Postgres unreachable, secrets unavailable): retry later.
      const classified = classifyDependencyError(error);
      throw classified instanceof AicError
        ? classified
        : new DependencyUnavailableError('runtime', { cause: error });
    }
  };

  const limit = async (ctx: CallContext, rt: Runtime): Promise<Record<string, string>> => {
    rateLimiter ??= createGrpcRateLimiter(rt.settings, rt.redis);
    return rateLimiter(RPC_ROUTES[ctx.method], ctx.userId ?? '');
  };

  const authenticate = async (metadata: grpc.Metadata): Promise<string> => {
    const value = metadata.get('authorization')[0];
    const claims = await verifyToken(
      bearerToken(typeof value === 'string' ? value : undefined),
      jwt,
    );
    return String(claims.sub);
  };

  /** Starts the bookkeeping of a call: request id, cancellation and deadline, in-flight gauge. */
  const begin = (
    call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
    method: CallContext['method'],
  ): CallContext => {
    const header = call.metadata.get('x-request-id')[0];
    const requestId = resolveRequestId(typeof header === 'string' ? header : undefined);
    const controller = new AbortController();
    const deadline = deadlineOf(call);
    const onCancel = () =>
      controller.abort(
        Date.now() >= deadline ? new DeadlineExceededError() : new StreamStopped('cancelled'),
      );
    call.once('cancelled', onCancel);
    if (Date.now() >= deadline) onCancel();
    const initial = new grpc.Metadata();
    initial.set('x-request-id', requestId);
    call.sendMetadata(initial);
    registry.inFlight.inc();
    return { method, requestId, started: performance.now(), signal: controller.signal, frames: 0 };
  };

  /** Ends the bookkeeping of a call: metrics and one access log line. */
  const finish = (ctx: CallContext, code: number, error?: AicError) => {
    registry.inFlight.dec();
    const seconds = (performance.now() - ctx.started) / 1000;
    registry.calls.inc({ method: ctx.method, code: statusName(code) });
    registry.latency.observe({ method: ctx.method }, seconds);
    if (error?.code === 'RATE_LIMIT_EXCEEDED') registry.rateLimited.inc();
    const entry = {
      request_id: ctx.requestId,
      rpc: ctx.method,
      user: ctx.userId,
      grpc_code: statusName(code),
      duration_ms: Math.round(seconds * 1e5) / 100,
      ...(ctx.method === 'CompressStream' ? { frames: ctx.frames } : {}),
    };
    if (code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN) {
      logger.error('grpc call failed', { ...entry, error: error?.cause ?? error });
    } else if (error) {
      logger.info('grpc call rejected', { ...entry, code: error.code, reason: error.message });
    } else {
      logger.info('grpc call', entry);
    }
  };

  const asAicError = (error: unknown): AicError => toAicError(classifyDependencyError(error));

  /** Runs `work` unless the call is gone; rejects as soon as it is (the work's result is dropped). */
  const untilCancelled = <T>(ctx: CallContext, work: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (ctx.signal.aborted) {
        reject(ctx.signal.reason);
        return;
      }
      const onAbort = () => reject(ctx.signal.reason);
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      work.then(resolve, reject).finally(() => ctx.signal.removeEventListener('abort', onAbort));
    });

  function unary<Req, Res>(
    method: CallContext['method'],
    work: (ctx: CallContext, request: Req, runtime: Runtime) => Promise<Res>,
  ) {
    return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
      const ctx = begin(call as grpc.ServerUnaryCall<unknown, unknown>, method);
      const run = async () => {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        ctx.userId = await authenticate(call.metadata);
        const rt = await runtime();
        const limits = await limit(ctx, rt);
        const response = await untilCancelled(ctx, work(ctx, call.request, rt));
        const trailers = new grpc.Metadata();
        trailers.set('x-request-id', ctx.requestId);
        for (const [name, value] of Object.entries(limits)) trailers.set(name, value);
        return { response, trailers };
      };
      run().then(
        ({ response, trailers }) => {
          callback(null, response, trailers);
          finish(ctx, grpc.status.OK);
        },
        (error: unknown) => {
          const aic = asAicError(error);
          const cancelled = ctx.signal.aborted;
          // A cancelled call has no one to answer; its status is what grpc-js already sent.
          if (!cancelled) callback(toServiceError(aic, ctx.requestId));
          finish(ctx, cancelled ? cancelledCode(ctx) : aic.grpcStatus, aic);
        },
      );
    };
  }

  const cancelledCode = (ctx: CallContext) =>
    ctx.signal.reason instanceof DeadlineExceededError
      ? grpc.status.DEADLINE_EXCEEDED
      : grpc.status.CANCELLED;

  /**
   * One frame of a stream: its rate-limit check runs beside its work, which is stored once the
   * frame is admitted and `previous` (the frame before it) is settled. The frame's own problems
   * become its `error`; anything else ends the stream.
   */
  const streamFrame = async (
    ctx: CallContext,
    rt: Runtime,
    frames: StreamCompressor,
    request: CompressStreamRequestMessage,
    previous: Promise<unknown>,
  ): Promise<FrameOutcome> => {
    registry.bytesIn.inc({}, request.frame?.frame_data?.length ?? 0);
    // Every frame is checked exactly once, on every path. The check begins just after the frame's
    // work has, so that its own CPU time (building the script call) runs while sharp decodes.
    let admitted: Promise<RateLimitMetadata> | undefined;
    const admit = () => {
      if (admitted === undefined) {
        admitted = limit(ctx, rt);
        // Awaited on every path; this only keeps an early rejection from counting as unhandled.
        admitted.catch(() => undefined);
      }
      return admitted;
    };
    try {
      if (!request.frame) {
        throw new ValidationError('The request is invalid', [
          { field: 'frame', message: 'is required', code: 'invalid_type' },
        ]);
      }
      const command = toCompressCommand(request.frame, ctx.userId ?? '');
      const work = frames.compress({ ...command, signal: ctx.signal }, () =>
        Promise.all([admit(), previous]),
      );
      admit(); // now that the work is under way
      const frame = await work;
      const message = toCompressFrameResponse(frame.response);
      registry.frames.inc({ outcome: frame.response.status });
      registry.frameSeconds.observe(
        { status: frame.response.status },
        frame.response.latency_ms.total / 1000,
      );
      registry.bytesOut.inc({}, message.compressed_data.length);
      return { message: { result: message }, limits: await admit() };
    } catch (error) {
      const checked = admit();
      const aic = asAicError(error);
      if (ctx.signal.aborted || !FRAME_ERRORS.has(aic.code)) throw error;
      const limits = await checked;
      registry.frames.inc({ outcome: aic.code });
      return {
        message: {
          error: {
            code: aic.code,
            message: aic.message,
            details: (aic.details ?? []).map((d) => ({ ...d, code: d.code ?? '' })),
            grpc_status_code: aic.grpcStatus,
          },
        },
        limits,
      };
    }
  };

  /**
   * `CompressStream`: frames are read, compressed and answered in order, up to
   * {@link STREAM_PIPELINE_DEPTH} of them in the work at once (see compress-stream.ts). A frame's
   * place is freed only once its response was handed to HTTP/2 (or, when the client reads slowly,
   * once the write buffer drained), so a slow reader slows the server's reading instead of growing
   * its memory.
   */
  const compressStream = (
    call: grpc.ServerDuplexStream<CompressStreamRequestMessage, CompressStreamResponseMessage>,
  ) => {
    const ctx = begin(call as grpc.ServerDuplexStream<unknown, unknown>, 'CompressStream');
    limitBuffering(call);
    // Resolves when the server stops this stream (drain), the call is gone or the stream failed.
    let stop: () => void = () => undefined;
    const stopped = new Promise<'stop'>((resolve) => {
      stop = () => resolve('stop');
    });
    ctx.signal.addEventListener('abort', () => stop(), { once: true });
    stopStreams.add(stop);
    const writable = () =>
      new Promise<void>((resolve) => {
        const done = () => {
          call.off('drain', done);
          resolve();
        };
        call.on('drain', done);
        void stopped.then(done);
      });
    const shuttingDown = () => new DependencyUnavailableError('server (shutting down; reconnect)');

    const run = async () => {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      ctx.userId = await authenticate(call.metadata);
      const rt = await runtime();
      const iterator = call.iterator({ destroyOnReturn: false }) as AsyncIterator<
        CompressStreamRequestMessage,
        undefined
      >;
      const frames = new StreamCompressor(compressPhases(rt, MAX_FRAME_BYTES_GRPC));
      // Frames read and not yet answered, in stream order; the reader wakes the writer and back.
      const pending: Promise<FrameOutcome>[] = [];
      let free = STREAM_PIPELINE_DEPTH;
      let readEnd: { error?: unknown } | undefined;
      let wakeWriter: () => void = () => undefined;
      let wakeReader: () => void = () => undefined;

      const read = async () => {
        let previous: Promise<unknown> = Promise.resolve();
        for (;;) {
          if (free === 0) {
            const woke = await Promise.race([
              new Promise<'slot'>((resolve) => {
                wakeReader = () => resolve('slot');
              }),
              stopped,
            ]);
            if (ctx.signal.aborted) throw ctx.signal.reason;
            if (woke === 'stop') throw shuttingDown();
            continue;
          }
          if (draining) throw shuttingDown();
          const next = await Promise.race([iterator.next(), stopped]);
          if (ctx.signal.aborted) throw ctx.signal.reason;
          if (next === 'stop') throw shuttingDown();
          if (next.done) return;
          free -= 1;
          const outcome = streamFrame(ctx, rt, frames, next.value, previous);
          // The writer takes its outcome; after a failure nobody does, and that is fine.
          outcome.catch(() => undefined);
          previous = outcome;
          pending.push(outcome);
          wakeWriter();
        }
      };

      const write = async () => {
        let limits: Record<string, string> = {};
        for (;;) {
          const head = pending.shift();
          if (head === undefined) {
            if (readEnd) {
              if ('error' in readEnd) throw readEnd.error;
              return limits;
            }
            await new Promise<void>((resolve) => (wakeWriter = resolve));
            continue;
          }
          const outcome = await head;
          limits = outcome.limits;
          ctx.frames += 1;
          if (ctx.signal.aborted) throw ctx.signal.reason;
          if (!call.write(outcome.message)) await writable();
          free += 1;
          wakeReader();
        }
      };

      void read().then(
        () => {
          readEnd = {};
          wakeWriter();
        },
        (error: unknown) => {
          readEnd = { error };
          wakeWriter();
        },
      );
      try {
        return await write();
      } finally {
        // Frees a reader still waiting for a place or a frame, then caches the stored frames' models.
        stop();
        await frames.flush();
      }
    };
    run()
      .then(
        (limits) => {
          const trailers = new grpc.Metadata();
          trailers.set('x-request-id', ctx.requestId);
          for (const [name, value] of Object.entries(limits)) trailers.set(name, value);
          call.end(trailers);
          finish(ctx, grpc.status.OK);
        },
        (error: unknown) => {
          const aic = asAicError(error);
          const cancelled = ctx.signal.aborted;
          if (!cancelled) call.emit('error', toServiceError(aic, ctx.requestId));
          finish(ctx, cancelled ? cancelledCode(ctx) : aic.grpcStatus, aic);
        },
      )
      .finally(() => stopStreams.delete(stop));
  };

  server.addService(aicServiceDefinition(loadAicDefinition()), {
    CompressFrame: unary<CompressFrameRequestMessage, unknown>(
      'CompressFrame',
      async (ctx, request, rt) => {
        const command = toCompressCommand(request, ctx.userId ?? '');
        registry.bytesIn.inc({}, command.frame.length);
        const { response: result } = await compress(
          rt,
          { ...command, signal: ctx.signal },
          MAX_FRAME_BYTES_GRPC,
        );
        const message = toCompressFrameResponse(result);
        registry.frames.inc({ outcome: result.status });
        registry.frameSeconds.observe({ status: result.status }, result.latency_ms.total / 1000);
        registry.bytesOut.inc({}, message.compressed_data.length);
        return message;
      },
    ),
    CompressStream: compressStream,
    GetCompressionHints: unary<GetCompressionHintsRequestMessage, unknown>(
      'GetCompressionHints',
      (ctx, request, rt) => compressionHints(rt, ctx.userId ?? '', toHintsInput(request)),
    ),
    AnalyzeNetworkConditions: unary<NetworkRequestMessage, unknown>(
      'AnalyzeNetworkConditions',
      (ctx, request, rt) => {
        const input = toNetworkAnalysis(request);
        return analyseNetwork(rt, ctx.userId ?? '', input.sessionId, input.conditions);
      },
    ),
    UpdateNetworkConditions: unary<NetworkRequestMessage, unknown>(
      'UpdateNetworkConditions',
      async (ctx, request, rt) => {
        const input = toNetworkUpdate(request);
        const { body } = await recordNetworkUpdate(rt, { userId: ctx.userId ?? '', ...input });
        return toNetworkEstimateMessage(body);
      },
    ),
  });
  health.addToServer(server);
  new ReflectionService(loadReflectedDefinition()).addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${options.host ?? '127.0.0.1'}:${options.port}`,
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    );
  });

  const monitor = startReadinessMonitor(
    health,
    options.readiness ?? (() => checkReadiness()),
    options.healthIntervalMs ?? 5000,
    (status) => {
      registry.serving.set(status === 'SERVING' ? 1 : 0);
      logger.info('grpc health status changed', { status });
    },
  );

  return {
    port,
    server,
    health,
    metrics: registry,
    monitor,
    get draining() {
      return draining;
    },
    shutdown: async (timeoutMs) => {
      if (!draining) {
        draining = true;
        monitor.stop();
        health.setAll('NOT_SERVING');
        registry.serving.set(0);
        health.endWatches();
        for (const stopStream of stopStreams) stopStream();
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
    },
  };
}
