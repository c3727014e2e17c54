import fc from 'fast-check';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  FrameCapacity,
  frameWeight,
  MAX_FRAME_PIXELS,
} from '../../../../functions/core/admission/frame-capacity.ts';
import type { Permit } from '../../../../functions/core/admission/permit.ts';
import { ConcurrencyLimitError } from '../../../../functions/core/errors.ts';

const jpeg = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#888' } })
    .jpeg()
    .toBuffer();

let frame4k: Buffer;
let frame360p: Buffer;
let frame180p: Buffer;

beforeAll(async () => {
  [frame4k, frame360p, frame180p] = await Promise.all([
    jpeg(3840, 2160),
    jpeg(640, 360),
    jpeg(320, 180),
  ]);
});

describe('the weight of a frame', () => {
  it('is its decoded pixels: a 4K frame weighs 36 times a 640x360 one', () => {
    expect(frameWeight(frame360p)).toBe(640 * 360);
    expect(frameWeight(frame4k)).toBe(36 * frameWeight(frame360p));
  });

  it('is the largest frame the decoder accepts when the header cannot be read', () => {
    expect(frameWeight(Buffer.from('garbage'))).toBe(MAX_FRAME_PIXELS);
  });
});

describe('the frame capacity', () => {
  it('refuses a frame of a user who has as many in the work as allowed, and takes the next one once one is done', () => {
    const capacity = new FrameCapacity({
      maxPixels: MAX_FRAME_PIXELS * 10,
      maxFramesPerUser: 2,
      maxPixelsPerUser: MAX_FRAME_PIXELS * 10,
    });
    const first = capacity.admit('alice', frame180p);
    capacity.admit('alice', frame180p);
    expect(() => capacity.admit('alice', frame180p)).toThrow(ConcurrencyLimitError);
    expect(capacity.admit('bob', frame180p)).toBeDefined();
    first.release();
    expect(capacity.admit('alice', frame180p)).toBeDefined();
  });

  it("refuses a user's frame past the user's share of pixels while another user's frame still fits", () => {
    const capacity = new FrameCapacity({
      maxPixels: 4 * 36 * 640 * 360,
      maxFramesPerUser: 4,
      maxPixelsPerUser: 36 * 640 * 360,
    });
    const big = capacity.admit('mallory', frame4k);
    expect(() => capacity.admit('mallory', frame360p)).toThrow(ConcurrencyLimitError);
    expect(capacity.admit('alice', frame4k)).toBeDefined();
    big.release();
    expect(capacity.admit('mallory', frame360p)).toBeDefined();
  });

  it("refuses a frame whose pixels do not fit beside everyone's in the work, with a retry-after", () => {
    const capacity = new FrameCapacity({
      maxPixels: 36 * 640 * 360,
      maxFramesPerUser: 100,
      maxPixelsPerUser: 36 * 640 * 360,
    });
    const big = capacity.admit('alice', frame4k);
    let refusal: unknown;
    try {
      capacity.admit('bob', frame360p);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ConcurrencyLimitError);
    expect((refusal as ConcurrencyLimitError).grpcStatus).toBe(8);
    expect((refusal as ConcurrencyLimitError).headers?.['Retry-After']).toBe('1');
    // The refused frame holds nothing: not the pixels, not bob's place.
    expect(capacity.pixelsInUse).toBe(36 * 640 * 360);
    expect(capacity.users).toBe(1);
    big.release();
    for (let i = 0; i < 36; i++) capacity.admit(`user-${i}`, frame360p);
    expect(() => capacity.admit('carol', frame180p)).toThrow(ConcurrencyLimitError);
  });

  it('never holds more than its pixels or a user more than its frames, and releases leave nothing behind', () => {
    const frames = () => [frame4k, frame360p, frame180p, Buffer.from('garbage')];
    const step = fc.oneof(
      fc.record({ user: fc.constantFrom('a', 'b', 'c'), frame: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ release: fc.nat() }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 * MAX_FRAME_PIXELS }),
        fc.array(step, { maxLength: 60 }),
        fc.integer({ min: 1, max: 2 * MAX_FRAME_PIXELS }),
        (perUser, maxPixels, run, maxPixelsPerUser) => {
          const capacity = new FrameCapacity({
            maxPixels,
            maxFramesPerUser: perUser,
            maxPixelsPerUser,
          });
          const held: { permit: Permit; user: string; weight: number }[] = [];
          const userPixels = (user: string) =>
            held.filter((h) => h.user === user).reduce((sum, h) => sum + h.weight, 0);
          for (const s of run) {
            if ('user' in s) {
              const frame = frames()[s.frame] as Buffer;
              try {
                held.push({
                  permit: capacity.admit(s.user, frame),
                  user: s.user,
                  weight: frameWeight(frame),
                });
              } catch (error) {
                expect(error).toBeInstanceOf(ConcurrencyLimitError);
              }
            } else if (held.length > 0) {
              held.splice(s.release % held.length, 1)[0]?.permit.release();
            }
            expect(capacity.pixelsInUse).toBeLessThanOrEqual(maxPixels);
            for (const user of ['a', 'b', 'c']) {
              expect(userPixels(user)).toBeLessThanOrEqual(maxPixelsPerUser);
            }
          }
          for (const { permit } of held) permit.release();
          expect(capacity.pixelsInUse).toBe(0);
          expect(capacity.users).toBe(0);
        },
      ),
    );
  });
});
