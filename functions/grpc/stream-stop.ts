/**
 * Stopping streams: each stream has a stop the server pulls when it drains, the stream's token
 * timer when its token expires (and the stream itself when its call is gone or it failed); the
 * server's open streams are kept to be stopped together.
 */
import { type AicError, UnauthorizedError } from '../core/errors.ts';

/** The stop of one stream. */
export class StreamStop {
  /** Resolves once {@link stop} was called. */
  readonly stopped: Promise<'stop'>;
  /** Stops the stream; `reason` is the error it ends with (default: the server is draining). */
  readonly stop: (reason?: AicError) => void;
  #reason: AicError | undefined;
  #called = false;

  constructor() {
    let resolve: (value: 'stop') => void = () => undefined;
    this.stopped = new Promise((settle) => {
      resolve = settle;
    });
    this.stop = (reason) => {
      if (this.#called) return;
      this.#called = true;
      this.#reason = reason;
      resolve('stop');
    };
  }

  /** The error of the first {@link stop} that gave one. */
  get reason(): AicError | undefined {
    return this.#reason;
  }
}

/** The longest delay a Node timer takes (about 24.8 days); a later expiry is re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Stops the stream with UNAUTHENTICATED when its token expires at `expiresAtMs` (epoch ms): a
 * stream outlives no token; the client reconnects with a new one. Returns what cancels the timer.
 */
export function stopAtExpiry(stop: StreamStop, expiresAtMs: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = expiresAtMs - Date.now();
    if (left <= 0) {
      stop.stop(new UnauthorizedError('The token has expired; reconnect with a new one'));
      return;
    }
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

/** The open streams of a server, and whether it is draining. */
export class ActiveStreams {
  #draining = false;
  readonly #open = new Set<StreamStop>();

  /** Whether a drain has begun: no stream reads another frame. */
  get draining(): boolean {
    return this.#draining;
  }

  add(stream: StreamStop): void {
    this.#open.add(stream);
  }

  delete(stream: StreamStop): void {
    this.#open.delete(stream);
  }

  /** Begins the drain: every open stream stops after the frames in hand. */
  drain(): void {
    this.#draining = true;
    for (const stream of this.#open) stream.stop();
  }
}
