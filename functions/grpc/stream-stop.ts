/**
 * Stopping streams: each stream has a stop the server pulls when it drains (and the stream itself
 * when its call is gone or it failed); the server's open streams are kept to be stopped together.
 */

/** The stop of one stream. */
export class StreamStop {
  /** Resolves once {@link stop} was called. */
  readonly stopped: Promise<'stop'>;
  readonly stop: () => void;

  constructor() {
    let resolve: (value: 'stop') => void = () => undefined;
    this.stopped = new Promise((settle) => {
      resolve = settle;
    });
    this.stop = () => resolve('stop');
  }
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
