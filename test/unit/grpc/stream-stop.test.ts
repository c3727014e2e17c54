import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UnauthorizedError } from '../../../functions/core/errors.ts';
import { StreamStop, stopAtExpiry } from '../../../functions/grpc/stream-stop.ts';

describe("a stream's token timer", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('stops the stream with UNAUTHENTICATED when the token expires, not before', async () => {
    const stop = new StreamStop();
    stopAtExpiry(stop, Date.now() + 5000);
    vi.advanceTimersByTime(4999);
    expect(stop.reason).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(stop.reason).toBeInstanceOf(UnauthorizedError);
    expect(stop.reason?.grpcStatus).toBe(16);
    await expect(stop.stopped).resolves.toBe('stop');
  });

  it('stops at once a stream whose token has already expired', () => {
    const stop = new StreamStop();
    stopAtExpiry(stop, Date.now() - 1);
    expect(stop.reason).toBeInstanceOf(UnauthorizedError);
  });

  it('does nothing once cancelled', () => {
    const stop = new StreamStop();
    const cancel = stopAtExpiry(stop, Date.now() + 5000);
    cancel();
    vi.advanceTimersByTime(10_000);
    expect(stop.reason).toBeUndefined();
  });

  it('waits for a token that expires later than a Node timer reaches', () => {
    const stop = new StreamStop();
    const days40 = 40 * 86_400_000;
    stopAtExpiry(stop, Date.now() + days40);
    vi.advanceTimersByTime(days40 - 1);
    expect(stop.reason).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(stop.reason).toBeInstanceOf(UnauthorizedError);
  });

  it('keeps the reason of the first stop: a drain after the expiry does not change it', () => {
    const stop = new StreamStop();
    stopAtExpiry(stop, Date.now());
    stop.stop();
    expect(stop.reason).toBeInstanceOf(UnauthorizedError);
  });
});
