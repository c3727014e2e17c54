import { describe, expect, it } from 'vitest';
import type { CompressCommand } from '../../../functions/app/compress-command.ts';
import type { CompressedFrame, PreparedFrame } from '../../../functions/app/compress-service.ts';
import type { EngineModel } from '../../../functions/core/engine/model.ts';
import { StreamCompressor, type StreamPhases } from '../../../functions/grpc/compress-stream.ts';

/** A promise with its resolve and reject at hand. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A model that records the frames it has seen, in order. */
const modelOf = (seen: number[]) => ({ seen }) as unknown as EngineModel;
const seenBy = (model: EngineModel | undefined) =>
  (model as unknown as { seen: number[] } | undefined)?.seen;

const command = (frameNumber: number, sessionId = 'a', signal?: AbortSignal): CompressCommand => ({
  userId: 'alice',
  sessionId,
  frame: Buffer.alloc(1),
  frameNumber,
  frameType: 'video',
  policy: {},
  ...(signal ? { signal } : {}),
});

/**
 * Phases that log what runs when: every frame's engine appends its number to the model it was
 * given; `engineGate` and `storeGate` hold a frame's engine or store until the test lets it go.
 */
function fakePhases(cached?: EngineModel) {
  const log: string[] = [];
  const engineModels: (number[] | undefined)[] = [];
  const known: { frame: number; owned?: boolean; stateInHand?: boolean }[] = [];
  const saved: [string, number[] | undefined][] = [];
  const engineGate = new Map<number, Promise<void>>();
  const storeGate = new Map<number, Promise<void>>();
  const prepareError = new Map<number, Error>();
  const saveGates: Promise<void>[] = [];
  let cacheReads = 0;
  const phases: StreamPhases = {
    prepare: async (cmd, k) => {
      const frame = cmd.frameNumber ?? -1;
      known.push({ frame, ...k });
      log.push(`prepare ${frame}`);
      await tick();
      const error = prepareError.get(frame);
      if (error) throw error;
      return {
        command: cmd,
        live: { model: k.stateInHand ? undefined : cached, estimate: undefined },
      } as unknown as PreparedFrame;
    },
    engine: async (prepared, model) => {
      const frame = prepared.command.frameNumber ?? -1;
      log.push(`engine ${frame} start`);
      engineModels[frame] = seenBy(model);
      await (engineGate.get(frame) ?? tick());
      log.push(`engine ${frame} end`);
      return {
        response: { frame_number: frame },
        model: modelOf([...(seenBy(model) ?? []), frame]),
      } as unknown as CompressedFrame;
    },
    store: async (frame) => {
      const number = frame.response.frame_number ?? -1;
      log.push(`store ${number} start`);
      await (storeGate.get(number) ?? tick());
      log.push(`store ${number} end`);
    },
    cachedModel: async () => {
      cacheReads += 1;
      return cached;
    },
    saveModel: async (_userId, sessionId, model) => {
      await (saveGates.shift() ?? tick());
      saved.push([sessionId, seenBy(model)]);
    },
  };
  return {
    phases,
    log,
    engineModels,
    known,
    saved,
    engineGate,
    storeGate,
    prepareError,
    saveGates,
    cacheReads: () => cacheReads,
  };
}

/**
 * Runs frames the way the server does: each may be stored once the one before it settled (a
 * frame's own error does not stop the ones after it).
 */
function runInOrder(stream: StreamCompressor, commands: CompressCommand[]) {
  let previous: Promise<unknown> = Promise.resolve();
  return commands.map((cmd) => {
    const before = previous;
    const done = stream.compress(cmd, () => before);
    previous = done.catch(() => undefined);
    return done;
  });
}

describe('StreamCompressor', () => {
  it('runs the next frame through its engine while the frame before it is being stored', async () => {
    const fake = fakePhases();
    const store0 = deferred();
    fake.storeGate.set(0, store0.promise);
    const stream = new StreamCompressor(fake.phases);
    const done = runInOrder(stream, [command(0), command(1)]);
    await tick();
    await tick();
    await tick();
    await tick();
    expect(fake.log).toContain('engine 1 end');
    expect(fake.log).not.toContain('store 0 end');
    expect(fake.log).not.toContain('store 1 start');
    store0.resolve();
    await Promise.all(done);
    expect(fake.log.filter((line) => line.startsWith('store'))).toEqual([
      'store 0 start',
      'store 0 end',
      'store 1 start',
      'store 1 end',
    ]);
  });

  it('stores frames in stream order even when a later frame leaves its engine first', async () => {
    const fake = fakePhases();
    const engine0 = deferred();
    fake.engineGate.set(0, engine0.promise);
    const stream = new StreamCompressor(fake.phases);
    const done = runInOrder(stream, [command(0, 'a'), command(1, 'b')]);
    for (let i = 0; i < 5; i++) await tick();
    expect(fake.log).toContain('engine 1 end');
    expect(fake.log).not.toContain('store 1 start');
    engine0.resolve();
    await Promise.all(done);
    const stores = fake.log.filter((line) => line.endsWith('start') && line.startsWith('store'));
    expect(stores).toEqual(['store 0 start', 'store 1 start']);
  });

  it('hands each session its own model from frame to frame without reading the cache again', async () => {
    const fake = fakePhases(modelOf([-1]));
    const stream = new StreamCompressor(fake.phases);
    const sessions = ['a', 'b', 'a', 'a', 'b', 'a'];
    await Promise.all(
      runInOrder(
        stream,
        sessions.map((session, i) => command(i, session)),
      ),
    );
    expect(fake.engineModels).toEqual([[-1], [-1], [-1, 0], [-1, 0, 2], [-1, 1], [-1, 0, 2, 3]]);
    expect(fake.cacheReads()).toBe(0);
    expect(fake.known.map((k) => k.stateInHand)).toEqual([false, false, true, true, true, true]);
  });

  it("asks no more whether a session is the caller's once a frame of it was stored", async () => {
    const fake = fakePhases();
    const stream = new StreamCompressor(fake.phases);
    await Promise.all(runInOrder(stream, [command(0, 'a')]));
    await Promise.all(runInOrder(stream, [command(1, 'a'), command(2, 'b')]));
    expect(fake.known.map((k) => k.owned)).toEqual([false, true, false]);
  });

  it('gives the next frame the model from before a frame that failed ahead of its engine', async () => {
    const fake = fakePhases();
    fake.prepareError.set(1, new Error('undecodable'));
    const stream = new StreamCompressor(fake.phases);
    const done = runInOrder(stream, [command(0), command(1), command(2)]);
    await expect(done[1]).rejects.toThrow('undecodable');
    await Promise.all([done[0], done[2]]);
    expect(fake.engineModels[2]).toEqual([0]);
  });

  it('reads the cached model when the only earlier frame of the session in the stream failed', async () => {
    const fake = fakePhases(modelOf([-1]));
    fake.prepareError.set(0, new Error('undecodable'));
    const stream = new StreamCompressor(fake.phases);
    const done = runInOrder(stream, [command(0), command(1)]);
    await expect(done[0]).rejects.toThrow('undecodable');
    await done[1];
    expect(fake.engineModels[1]).toEqual([-1]);
    expect(fake.cacheReads()).toBe(1);
  });

  it('stores nothing for a frame whose turn never comes or whose call is gone', async () => {
    const fake = fakePhases();
    const stream = new StreamCompressor(fake.phases);
    const refused = stream.compress(command(0), () => Promise.reject(new Error('rate limited')));
    await expect(refused).rejects.toThrow('rate limited');
    const controller = new AbortController();
    const engine1 = deferred();
    fake.engineGate.set(1, engine1.promise);
    const cancelled = stream.compress(command(1, 'a', controller.signal), () => Promise.resolve());
    await tick();
    controller.abort(new Error('cancelled'));
    engine1.resolve();
    await expect(cancelled).rejects.toThrow('cancelled');
    expect(fake.log.some((line) => line.startsWith('store'))).toBe(false);
    await stream.flush();
    expect(fake.saved).toEqual([]);
  });

  it('decodes no frame before it is admitted, and none that is refused', async () => {
    const fake = fakePhases();
    const stream = new StreamCompressor(fake.phases);
    const admission = deferred();
    const admitted = stream.compress(
      command(0),
      () => Promise.resolve(),
      () => admission.promise,
    );
    const refused = stream.compress(
      command(1),
      () => admitted,
      () => Promise.reject(new Error('over capacity')),
    );
    await expect(refused).rejects.toThrow('over capacity');
    for (let i = 0; i < 3; i++) await tick();
    expect(fake.log).toEqual([]);
    admission.resolve();
    await admitted;
    expect(fake.log.filter((line) => line.startsWith('prepare'))).toEqual(['prepare 0']);
  });

  it('keeps the sessions of at most its bound, and a forgotten session starts again from the cache', async () => {
    const fake = fakePhases(modelOf([-1]));
    const stream = new StreamCompressor(fake.phases, 2);
    await Promise.all(runInOrder(stream, [command(0, 'a'), command(1, 'b'), command(2, 'c')]));
    expect(stream.sessionIds()).toEqual(['b', 'c']);
    await Promise.all(runInOrder(stream, [command(3, 'a'), command(4, 'c')]));
    expect(stream.sessionIds()).toEqual(['a', 'c']);
    // `a` was forgotten when `c` came: its next frame asks the cache (prepare reads it) again, and
    // asks again whether the session is the caller's; `c` was kept and carries its model on.
    expect(fake.known.map((k) => k.stateInHand)).toEqual([false, false, false, false, true]);
    expect(fake.known.map((k) => k.owned)).toEqual([false, false, false, false, true]);
    expect(fake.engineModels).toEqual([[-1], [-1], [-1], [-1], [-1, 2]]);
  });

  it('keeps no more sessions than its bound, whatever the stream sends', async () => {
    const fake = fakePhases();
    const stream = new StreamCompressor(fake.phases, 4);
    await Promise.all(
      runInOrder(
        stream,
        Array.from({ length: 50 }, (_, i) => command(i, `session-${i}`)),
      ),
    );
    expect(stream.sessionIds()).toEqual(['session-46', 'session-47', 'session-48', 'session-49']);
  });

  it('caches only the latest model of each session, and flush waits for the writes', async () => {
    const fake = fakePhases();
    const firstSave = deferred();
    fake.saveGates.push(firstSave.promise);
    const stream = new StreamCompressor(fake.phases);
    await Promise.all(runInOrder(stream, [command(0, 'a'), command(1, 'a'), command(2, 'b')]));
    await Promise.all(runInOrder(stream, [command(3, 'a'), command(4, 'a')]));
    let flushed = false;
    const flushing = stream.flush().then(() => {
      flushed = true;
    });
    await tick();
    expect(flushed).toBe(false);
    firstSave.resolve();
    await flushing;
    // Frame 0's write was under way; of the models that came while it was, only the latest per
    // session is written.
    expect(fake.saved).toEqual([
      ['a', [0]],
      ['a', [0, 1, 3, 4]],
      ['b', [2]],
    ]);
  });
});
