/**
 * A log with a second place to go: while the primary cannot take an append, the events go to the
 * fallback, so that a frame is never answered without its metrics stored somewhere durable.
 */
import type { FrameEventLog } from './frame-event-log.ts';

/**
 * `primary`, and `fallback` for an append the primary rejects. An event the primary stored before
 * it failed may reach both: the consumer counts it once, by its id.
 */
export function withFallback(
  primary: FrameEventLog,
  fallback: FrameEventLog,
  onFallback: (error: unknown, events: number) => void,
): FrameEventLog {
  return {
    kind: primary.kind,
    async append(events) {
      try {
        await primary.append(events);
      } catch (error) {
        onFallback(error, events.length);
        await fallback.append(events);
      }
    },
    close: async () => {
      await Promise.all([primary.close(), fallback.close()]);
    },
  };
}
