/**
 * The frames of one `CompressStream`, overlapped: while frame N is being stored, frame N+1 is
 * decoded and compressed. The overlap keeps the guarantees of frames taken one at a time:
 * - a frame is decoded only once it was admitted (by the rate limiter and the frame capacity);
 * - a frame is stored only after the frames before it were (rows in stream order), and never after
 *   an earlier frame ended the stream;
 * - a session's frame runs the engine with the model and the temporal state (bit bucket, viewer's
 *   image) its previous frame left, handed over in memory (a stream may interleave sessions: each
 *   has its own chain); the first frame of a session in the stream, or of a session the stream has
 *   forgotten, reads them from Redis; the temporal state is the stream's alone from then on;
 * - the model cache in Redis is written behind the responses, only the latest model of each session,
 *   and flushed before the stream ends, so the next stream or request of the session finds it.
 */

import type { CompressCommand } from '../app/compress-command.ts';
import {
  type CompressedFrame,
  emitFrameMetrics,
  type PreparedFrame,
  prepareFrame,
  runEngine,
  type SessionKnowledge,
  storeFrame,
} from '../app/compress-service.ts';
import { loadLiveSession } from '../app/network-service.ts';
import { type EngineModel, restoreModel } from '../core/engine/model.ts';
import { LruMap } from '../core/lru-map.ts';
import type { TemporalState } from '../core/temporal/session-state.ts';
import { logger } from '../platform/observability.ts';
import { saveModel } from '../platform/redis/session-model.ts';
import type { Runtime } from '../platform/runtime.ts';

/**
 * Frames of a stream in the work at once (read and not yet answered). Two let frame N+1 run its
 * engine while frame N is stored; a client that stops reading holds the server at two frames.
 */
export const STREAM_PIPELINE_DEPTH = 2;

/**
 * Sessions whose model a stream keeps by default (`GRPC_STREAM_MAX_SESSIONS`). At least
 * {@link STREAM_PIPELINE_DEPTH}: the sessions of the frames in the work are the most recently used,
 * so they are never the ones forgotten.
 */
export const DEFAULT_STREAM_MAX_SESSIONS = 16;

/** The phases of a frame as a stream runs them (the compress service's; tests substitute theirs). */
export interface StreamPhases {
  prepare(command: CompressCommand, known: SessionKnowledge): Promise<PreparedFrame>;
  engine(
    prepared: PreparedFrame,
    model: EngineModel | undefined,
    temporal: TemporalState | null,
  ): Promise<CompressedFrame>;
  /** Stores the frame's metrics (and emits them); rejects when nothing was stored. */
  store(frame: CompressedFrame): Promise<void>;
  /** The session's model as cached in Redis. */
  cachedModel(sessionId: string, userId: string): Promise<EngineModel | undefined>;
  /** Caches the session's model; a cache, so a failure only costs a later frame a cold start. */
  saveModel(userId: string, sessionId: string, model: EngineModel): Promise<void>;
}

/** The compress service's phases over `runtime`, with the frame cap `maxFrameBytes`. */
export function compressPhases(runtime: Runtime, maxFrameBytes: number): StreamPhases {
  return {
    prepare: (command, known) => prepareFrame(runtime, command, maxFrameBytes, known),
    // A model handed over in memory passes the check a model read from Redis passes (one out of
    // range starts the session from the priors again), so both transports learn alike.
    engine: (prepared, model, temporal) =>
      runEngine(prepared, model && restoreModel(model).model, temporal),
    store: async (frame) => {
      await storeFrame(runtime, frame);
      emitFrameMetrics(frame);
    },
    cachedModel: async (sessionId, userId) =>
      (await loadLiveSession(runtime, sessionId, userId, false)).model,
    saveModel: (userId, sessionId, model) => saveModel(runtime, userId, sessionId, model),
  };
}

/** Writes the latest model of each session behind the stream; one write per session at a time. */
class ModelWriteBehind {
  /** The latest model of each session, with its owner, by session id (one caller per stream). */
  private readonly latest = new Map<string, { userId: string; model: EngineModel }>();
  private writing: Promise<void> | undefined;

  constructor(private readonly write: StreamPhases['saveModel']) {}

  save(userId: string, sessionId: string, model: EngineModel): void {
    this.latest.set(sessionId, { userId, model });
    this.writing ??= this.drain();
  }

  /** Resolves once every model handed to {@link save} so far is written (or failed to be). */
  flush(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    // Serialising and sending a model costs CPU time: let the frame's answer go out first.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.latest.size > 0) {
      const batch = [...this.latest];
      this.latest.clear();
      await Promise.all(
        batch.map(([sessionId, { userId, model }]) =>
          this.write(userId, sessionId, model).catch((error: unknown) =>
            logger.warn('could not cache a session model', { error }),
          ),
        ),
      );
    }
    this.writing = undefined;
  }
}

/** What a session's frame hands over to its next frame in the stream. */
interface Carry {
  model: EngineModel | undefined;
  temporal: TemporalState | null;
}

/** What a stream knows of one of its sessions. */
interface StreamSession {
  /** What the session's latest frame started in this stream left (undefined: none). */
  carry: Promise<Carry | undefined>;
  /** A frame of the session was stored for this stream's caller: the session is theirs for good. */
  owned: boolean;
}

/**
 * The per-stream state that carries from frame to frame. It keeps the sessions of at most
 * `maxSessions` (least recently used forgotten first), so a stream that sends a new session id on
 * every frame holds no more; a forgotten session's next frame reads its model from the cache.
 */
export class StreamCompressor {
  private readonly sessions: LruMap<string, StreamSession>;
  private readonly cache: ModelWriteBehind;

  constructor(
    private readonly phases: StreamPhases,
    maxSessions = DEFAULT_STREAM_MAX_SESSIONS,
  ) {
    this.sessions = new LruMap(Math.max(maxSessions, STREAM_PIPELINE_DEPTH));
    this.cache = new ModelWriteBehind(phases.saveModel);
  }

  /** The sessions whose state the stream keeps, least recently used first. */
  sessionIds(): string[] {
    return [...this.sessions.keys()];
  }

  /**
   * Compresses and stores one frame; call in stream order. `admitted` (when given) resolves when
   * the frame may be decoded and rejects when it must not be; `ready` resolves when the frame may be
   * stored (the frames before it are settled) and rejects when it must not be. Resolves once the
   * frame is stored; rejects with the frame's error, or when `command.signal` aborts (nothing is
   * stored then).
   */
  async compress(
    command: CompressCommand,
    ready: () => Promise<unknown>,
    admitted: () => Promise<unknown> = () => Promise.resolve(),
  ): Promise<CompressedFrame> {
    const { sessionId, userId } = command;
    const known = this.sessions.get(sessionId);
    const prior = known?.carry;
    let handOver: (carry: Carry | undefined | Promise<Carry | undefined>) => void = () => undefined;
    this.sessions.set(sessionId, {
      carry: new Promise((resolve) => {
        handOver = resolve;
      }),
      owned: known?.owned ?? false,
    });
    let handedOver = false;
    try {
      await admitted();
      const prepared = await this.phases.prepare(command, {
        // Read now: the session's frame before this one may have been stored meanwhile.
        owned: this.sessions.peek(sessionId)?.owned ?? false,
        stateInHand: prior !== undefined,
      });
      // The session's previous frame in this stream may still be in its engine: wait for its state.
      const carried = prior ? await prior : undefined;
      const model = prior
        ? (carried?.model ?? (await this.phases.cachedModel(sessionId, userId)))
        : prepared.live.model;
      // The stream holds the state from here on: one it could not read, or that earlier frames of the
      // session never reached, starts afresh.
      const temporal = prior ? (carried?.temporal ?? {}) : (prepared.temporal?.state ?? {});
      command.signal?.throwIfAborted();
      const frame = await this.phases.engine(prepared, model, temporal);
      // Handed over before this frame is stored: if its store fails, so does the next frame's (the
      // session is someone else's, or the stream ends), so no frame is stored with an unsaved model.
      handOver({ model: frame.model, temporal: frame.temporal });
      handedOver = true;
      await ready();
      command.signal?.throwIfAborted();
      await this.phases.store(frame);
      const session = this.sessions.peek(sessionId);
      if (session) session.owned = true;
      this.cache.save(userId, sessionId, frame.model);
      return frame;
    } finally {
      // A frame that never reached its engine leaves the session's state as it found it.
      if (!handedOver) handOver(prior ?? undefined);
    }
  }

  /** Resolves once the models of every stored frame are cached. */
  flush(): Promise<void> {
    return this.cache.flush();
  }
}
