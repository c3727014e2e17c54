/**
 * `CompressStream`: the caller was verified by the edge interceptor; the stream's frames run through
 * a {@link StreamPipeline}, each counted against the caller's quota and admitted by the frame
 * capacity before it is decoded. The stream ends with UNAUTHENTICATED when its token expires, else
 * with the last frame's rate-limit fields in its trailers, after the models of its stored frames
 * are cached.
 */
import type { Readable, Writable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { answerFrameOnce } from '../app/compress-service.ts';
import { MAX_FRAME_BYTES_GRPC } from '../core/contracts/compress.ts';
import { type CallContext, openCall } from './call-context.ts';
import { type CallResult, settleCall } from './call-outcome.ts';
import type { CallServices } from './call-services.ts';
import { compressPhases, StreamCompressor } from './compress-stream.ts';
import { answerStreamFrame, type StreamFrameScope } from './stream-frame.ts';
import { type CompressStreamCall, StreamPipeline } from './stream-pipeline.ts';
import { type ActiveStreams, StreamStop, stopAtExpiry } from './stream-stop.ts';

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

/** Serves one stream until its last frame is answered; resolves with that frame's limits. */
async function serveStream(
  services: CallServices,
  streams: ActiveStreams,
  call: CompressStreamCall,
  ctx: CallContext,
  stop: StreamStop,
): Promise<CallResult<undefined>> {
  ctx.signal.throwIfAborted();
  const caller = services.caller(call.metadata);
  ctx.userId = caller.userId;
  const runtime = await services.runtime();
  const cancelExpiry = stopAtExpiry(stop, caller.expiresAtMs);
  const frames = new StreamCompressor(
    compressPhases(runtime, MAX_FRAME_BYTES_GRPC),
    services.streamMaxSessions,
  );
  const scope: StreamFrameScope = {
    ctx,
    metrics: services.metrics,
    frames,
    capacity: services.frames,
    rateLimit: () => services.rateLimit(ctx, runtime),
    once: (command, work) => answerFrameOnce(runtime, command, work),
  };
  const pipeline = new StreamPipeline({
    ctx,
    call,
    stop,
    draining: () => streams.draining,
    answer: (request, previous) => answerStreamFrame(scope, request, previous),
  });
  try {
    return { value: undefined, limits: await pipeline.run() };
  } finally {
    // Frees a reader still waiting for a place or a frame, then caches the stored frames' models.
    cancelExpiry();
    stop.stop();
    await frames.flush();
  }
}

/** The grpc-js handler of `CompressStream`; the stream is stopped when `streams` drains. */
export function compressStreamCall(
  services: CallServices,
  streams: ActiveStreams,
): grpc.handleBidiStreamingCall<unknown, unknown> {
  return (duplex) => {
    const call = duplex as CompressStreamCall;
    const ctx = openCall(
      call as grpc.ServerDuplexStream<unknown, unknown>,
      'CompressStream',
      services.metrics,
    );
    limitBuffering(call);
    const stop = new StreamStop();
    ctx.signal.addEventListener('abort', () => stop.stop(), { once: true });
    streams.add(stop);
    void settleCall(ctx, services.metrics, serveStream(services, streams, call, ctx, stop), {
      ok: (_, trailers) => call.end(trailers),
      fail: (error) => call.emit('error', error),
    }).finally(() => streams.delete(stop));
  };
}
