import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchInitialisation } from '../../../functions/platform/initialisation-watch.ts';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('the initialisation watch', () => {
  it('reports a container still not initialised when the time is up, once', () => {
    const onStalled = vi.fn();
    watchInitialisation({ afterMs: 60_000, isReady: () => false, onStalled });
    vi.advanceTimersByTime(59_999);
    expect(onStalled).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onStalled).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(600_000);
    expect(onStalled).toHaveBeenCalledTimes(1);
  });

  it('reports nothing when initialisation finished in time', () => {
    let ready = false;
    const onStalled = vi.fn();
    watchInitialisation({ afterMs: 60_000, isReady: () => ready, onStalled });
    vi.advanceTimersByTime(30_000);
    ready = true;
    vi.advanceTimersByTime(60_000);
    expect(onStalled).not.toHaveBeenCalled();
  });

  it('reports nothing once stopped', () => {
    const onStalled = vi.fn();
    const stop = watchInitialisation({ afterMs: 60_000, isReady: () => false, onStalled });
    stop();
    vi.advanceTimersByTime(120_000);
    expect(onStalled).not.toHaveBeenCalled();
  });
});
