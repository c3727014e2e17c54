/**
 * The reading and writing of a `CompressStream`: frames are read, compressed and answered in order,
 * up to {@link STREAM_PIPELINE_DEPTH} of them in the work at once (see compress-stream.ts). A
 * frame's place is freed only once its response was handed to HTTP/2 (or, when the client reads
 * slowly, once the write buffer drained), so a slow reader slows the server's reading instead of
 * growing its memory.
 */
import type * as grpc from '@grpc/grpc-js';
import { DependencyUnavailableError } from '../core/errors.ts';
import type { CallContext } from './call-context.ts';
import { STREAM_PIPELINE_DEPTH } from './compress-stream.ts';
import type { CompressStreamRequestMessage, CompressStreamResponseMessage } from './proto.ts';
import type { RateLimitMetadata } from './rate-limit.ts';
import type { FrameOutcome } from './stream-frame.ts';
import type { StreamStop } from './stream-stop.ts';

/** The duplex call of a `CompressStream`. */
export type CompressStreamCall = grpc.ServerDuplexStream<
  CompressStreamRequestMessage,
  CompressStreamResponseMessage
>;

/** What a pipeline reads from, writes to and answers frames with. */
export interface PipelineSource {
  ctx: CallContext;
  call: CompressStreamCall;
  stop: StreamStop;
  /** Whether the server is draining: no further frame is read. */
  draining(): boolean;
  /** Answers a frame, once `previous` (the frame before it) is settled. */
  answer(request: CompressStreamRequestMessage, previous: Promise<unknown>): Promise<FrameOutcome>;
}

const shuttingDown = () => new DependencyUnavailableError('server (shutting down; reconnect)');

/** The frames of one stream between reading and writing, in stream order. */
export class StreamPipeline {
  /** Frames read and not yet answered, in stream order. */
  private readonly pending: Promise<FrameOutcome>[] = [];
  private free = STREAM_PIPELINE_DEPTH;
  private readEnd: { error?: unknown } | undefined;
  // The reader wakes the writer when a frame is read, the writer the reader when a place is free.
  private wakeWriter: () => void = () => undefined;
  private wakeReader: () => void = () => undefined;
  private readonly iterator: AsyncIterator<CompressStreamRequestMessage, undefined>;

  constructor(private readonly source: PipelineSource) {
    this.iterator = source.call.iterator({ destroyOnReturn: false }) as AsyncIterator<
      CompressStreamRequestMessage,
      undefined
    >;
  }

  /**
   * Reads and answers frames until the client ends the stream; resolves with the rate-limit fields
   * of the last frame answered. Rejects when the stream is stopped, the call is gone or a frame
   * ends the stream.
   */
  run(): Promise<RateLimitMetadata> {
    void this.read().then(
      () => this.endReading({}),
      (error: unknown) => this.endReading({ error }),
    );
    return this.write();
  }

  private endReading(end: { error?: unknown }): void {
    this.readEnd = end;
    this.wakeWriter();
  }

  private async read(): Promise<void> {
    const { ctx, stop } = this.source;
    let previous: Promise<unknown> = Promise.resolve();
    for (;;) {
      if (this.free === 0) {
        await this.placeFreed();
        continue;
      }
      if (this.source.draining()) throw shuttingDown();
      const next = await Promise.race([this.iterator.next(), stop.stopped]);
      ctx.signal.throwIfAborted();
      if (next === 'stop') throw stop.reason ?? shuttingDown();
      if (next.done) return;
      this.free -= 1;
      const outcome = this.source.answer(next.value, previous);
      // The writer takes its outcome; after a failure nobody does, and that is fine.
      outcome.catch(() => undefined);
      previous = outcome;
      this.pending.push(outcome);
      this.wakeWriter();
    }
  }

  /** Waits until the writer frees a place; throws when the stream stops meanwhile. */
  private async placeFreed(): Promise<void> {
    const woke = await Promise.race([
      new Promise<'slot'>((resolve) => {
        this.wakeReader = () => resolve('slot');
      }),
      this.source.stop.stopped,
    ]);
    this.source.ctx.signal.throwIfAborted();
    if (woke === 'stop') throw this.source.stop.reason ?? shuttingDown();
  }

  private async write(): Promise<RateLimitMetadata> {
    const { ctx, call } = this.source;
    let limits: RateLimitMetadata = {};
    for (;;) {
      const head = this.pending.shift();
      if (head === undefined) {
        if (this.readEnd) {
          if ('error' in this.readEnd) throw this.readEnd.error;
          return limits;
        }
        await new Promise<void>((resolve) => {
          this.wakeWriter = resolve;
        });
        continue;
      }
      const outcome = await head;
      limits = outcome.limits;
      ctx.frames += 1;
      ctx.signal.throwIfAborted();
      if (!call.write(outcome.message)) await this.writable();
      this.free += 1;
      this.wakeReader();
    }
  }

  /** Resolves once the call's write buffer drained, or the stream stopped. */
  private writable(): Promise<void> {
    const { call, stop } = this.source;
    return new Promise<void>((resolve) => {
      const done = () => {
        call.off('drain', done);
        resolve();
      };
      call.on('drain', done);
      void stop.stopped.then(done);
    });
  }
}
