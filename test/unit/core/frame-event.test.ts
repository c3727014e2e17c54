import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  FRAME_EVENT_VERSION,
  type FrameEvent,
  frameEventPartitionKey,
  parseFrameEvent,
} from '../../../functions/core/contracts/frame-event.ts';
import { sampleFrameEvent } from '../../support/frame-events.ts';

const validEvent = (extra: Partial<FrameEvent> = {}): FrameEvent => sampleFrameEvent(42, extra);

/** The JSON of `event` with `field` left out. */
function without(event: FrameEvent, field: keyof FrameEvent): string {
  const copy: Record<string, unknown> = { ...event };
  delete copy[field];
  return JSON.stringify(copy);
}

describe('parseFrameEvent', () => {
  it('accepts a valid event and gives it back unchanged', () => {
    const event = validEvent();
    expect(parseFrameEvent(JSON.stringify(event))).toEqual({ ok: true, event });
  });

  it('accepts an unnamed frame, a frame without SSIM and a time with an offset', () => {
    const event = validEvent({
      event_id: `e:${randomUUID()}`,
      frame_number: null,
      quality: null,
      ssim: null,
      psnr_db: null,
      fallback: true,
      fallback_reason: 'encoder failed',
      recorded_at: '2026-01-01T13:00:00+01:00',
    });
    expect(parseFrameEvent(JSON.stringify(event))).toEqual({ ok: true, event });
  });

  it('accepts a dropped frame with its reason', () => {
    const event = validEvent({
      compressed_bytes: 0,
      ssim: null,
      psnr_db: null,
      status: 'dropped',
      drop_reason: 'no_candidate_fits',
    });
    expect(parseFrameEvent(JSON.stringify(event))).toEqual({ ok: true, event });
  });

  it("accepts an unchanged frame: nothing sent, the viewer's image's SSIM, no fallback", () => {
    const event = validEvent({
      compressed_bytes: 0,
      compression_ratio: 1,
      ssim: 0.995,
      psnr_db: 48.2,
      within_budget: true,
      fallback: false,
      fallback_reason: null,
      status: 'unchanged',
      drop_reason: null,
    });
    expect(parseFrameEvent(JSON.stringify(event))).toEqual({ ok: true, event });
  });

  it('accepts a dropped frame deferred for a better version later', () => {
    const event = validEvent({
      compressed_bytes: 0,
      ssim: null,
      psnr_db: null,
      status: 'dropped',
      drop_reason: 'refinement_deferred',
    });
    expect(parseFrameEvent(JSON.stringify(event))).toEqual({ ok: true, event });
  });

  it('accepts a record from a producer that sends no status (or a null one)', () => {
    const { status: _status, drop_reason: _reason, ...old } = validEvent({ fallback: true });
    expect(parseFrameEvent(JSON.stringify(old))).toEqual({ ok: true, event: old });
    const nulls = validEvent({ status: null, drop_reason: null });
    expect(parseFrameEvent(JSON.stringify(nulls))).toEqual({ ok: true, event: nulls });
  });

  it('refuses a status that contradicts fallback, an unknown status and a bad reason', () => {
    const bad: Record<string, unknown>[] = [
      { status: 'fallback', fallback: false },
      { status: 'success', fallback: true },
      { status: 'dropped', fallback: true },
      { status: 'unchanged', fallback: true },
      { status: 'UNCHANGED' },
      { status: 'unknown' },
      { status: 'dropped', drop_reason: '' },
      { status: 'dropped', drop_reason: 'x'.repeat(201) },
      { status: 'dropped', drop_reason: 'a\u0000b' },
    ];
    for (const change of bad) {
      const data = JSON.stringify({ ...validEvent(), ...change });
      expect(parseFrameEvent(data), JSON.stringify(change)).toEqual({
        ok: false,
        reason: 'invalid',
      });
    }
  });

  it('refuses a record that is not JSON as not_json', () => {
    for (const data of ['', 'not json', '{"v":1,', '\u0000\u0001', "{'v': 1}"]) {
      expect(parseFrameEvent(data)).toEqual({ ok: false, reason: 'not_json' });
    }
  });

  it('refuses JSON that is not an object as invalid', () => {
    for (const data of ['null', '42', '"event"', '[]', 'true']) {
      expect(parseFrameEvent(data)).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('refuses a version it does not know as invalid', () => {
    for (const v of [0, 2, FRAME_EVENT_VERSION + 1, '1']) {
      const data = JSON.stringify({ ...validEvent(), v });
      expect(parseFrameEvent(data)).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('refuses an event with a required field missing as invalid', () => {
    const event = validEvent();
    for (const field of ['v', 'event_id', 'session_id', 'user_id', 'recorded_at'] as const) {
      expect(parseFrameEvent(without(event, field)), field).toEqual({
        ok: false,
        reason: 'invalid',
      });
    }
  });

  it('refuses negative byte counts as invalid', () => {
    for (const field of ['original_bytes', 'compressed_bytes', 'budget_bytes'] as const) {
      const data = JSON.stringify({ ...validEvent(), [field]: -1 });
      expect(parseFrameEvent(data), field).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('refuses malformed identities, times and kinds as invalid', () => {
    const bad: Record<string, unknown>[] = [
      { session_id: 'not-a-uuid' },
      { event_id: 'f:' },
      { recorded_at: 'yesterday' },
      { frame_type: 'audio' },
      { mode: 'maximum' },
      { width: 0 },
      { decode_ms: -0.5 },
      { quality: 101 },
    ];
    for (const change of bad) {
      const data = JSON.stringify({ ...validEvent(), ...change });
      expect(parseFrameEvent(data), JSON.stringify(change)).toEqual({
        ok: false,
        reason: 'invalid',
      });
    }
  });
});

describe('frameEventPartitionKey', () => {
  it('is the session, so that one session keeps its order on one shard', () => {
    const event = validEvent();
    expect(frameEventPartitionKey(event)).toBe(event.session_id);
  });
});
