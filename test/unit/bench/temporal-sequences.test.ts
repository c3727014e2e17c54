import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { SIDEBAR, TOP_BAR, WINDOW } from '../../../bench/temporal-screen.ts';
import {
  generateSequence,
  SCROLL_PX_PER_S,
  SEQUENCE_NAMES,
  type Sequence,
} from '../../../bench/temporal-sequences.ts';

/** Short sequences: 5 frames at 10 fps, the still page edited every 0.2 s (frames 2 and 4). */
const SHORT = { fps: 10, durationS: 0.5, editEveryS: 0.2 };

const generateAll = (seed: number) =>
  Promise.all(SEQUENCE_NAMES.map((name) => generateSequence(name, { ...SHORT, seed })));

const allPixels = (sequence: Sequence) => Promise.all(sequence.frames.map((f) => f.pixels()));

/** Whether two lists of buffers hold the same bytes, one by one (without a slow deep compare). */
const sameBuffers = (a: readonly Buffer[], b: readonly Buffer[]) =>
  a.length === b.length && a.every((buffer, i) => buffer.equals(b[i] as Buffer));

describe('the temporal benchmark sequences', () => {
  it('are the same bytes and pixels, frame for frame, from the same seed', async () => {
    const [first, second] = await Promise.all([generateAll(3), generateAll(3)]);
    for (const [i, sequence] of first.entries()) {
      const again = second[i] as Sequence;
      const data = (s: Sequence) => s.frames.map((f) => f.data);
      expect(sameBuffers(data(again), data(sequence))).toBe(true);
      expect(sameBuffers(await allPixels(again), await allPixels(sequence))).toBe(true);
    }
  });

  it('differ with the seed', async () => {
    const [a, b] = await Promise.all([
      generateSequence('camera-pan', { ...SHORT, seed: 1 }),
      generateSequence('camera-pan', { ...SHORT, seed: 2 }),
    ]);
    expect(a.frames[0]?.data.equals(b.frames[0]?.data as Buffer)).toBe(false);
  });

  it('have the size, frame type, encoding and timestamps of their kind', async () => {
    for (const sequence of await generateAll(1)) {
      const screen = sequence.name === 'static-screen' || sequence.name === 'scrolling-page';
      expect(sequence.frameType).toBe(screen ? 'screen' : 'video');
      expect([sequence.width, sequence.height]).toEqual(screen ? [1280, 720] : [640, 360]);
      expect(sequence.frames.map((f) => f.timestampUs)).toEqual([0, 1e5, 2e5, 3e5, 4e5]);
      expect(sequence.frames.map((f) => f.index)).toEqual([0, 1, 2, 3, 4]);
      for (const frame of sequence.frames) {
        const meta = await sharp(frame.data).metadata();
        expect([meta.format, meta.width, meta.height]).toEqual([
          screen ? 'png' : 'jpeg',
          sequence.width,
          sequence.height,
        ]);
        expect((await frame.pixels()).length).toBe(sequence.width * sequence.height * 3);
      }
    }
  });

  it('hold the still page pixel for pixel between edits and change it at each edit', async () => {
    const still = await generateSequence('static-screen', SHORT);
    expect(still.edits.map((edit) => edit.timestampUs)).toEqual([2e5, 4e5]);
    const pixels = await allPixels(still);
    const same = pixels.slice(1).map((p, i) => p.equals(pixels[i] as Buffer));
    // Frame i + 1 against frame i: edits show first in frames 2 and 4.
    expect(same).toEqual([true, false, true, false]);
    expect(still.frames[1]?.data.equals(still.frames[0]?.data as Buffer)).toBe(true);
  });

  it('give each edit the region it changed: a word or a line, nothing outside it', async () => {
    const still = await generateSequence('static-screen', SHORT);
    const pixels = await allPixels(still);
    for (const { timestampUs, region } of still.edits) {
      const at = still.frames.findIndex((f) => f.timestampUs === timestampUs);
      const [before, after] = [pixels[at - 1] as Buffer, pixels[at] as Buffer];
      // Blank the region in both frames: what is left is the same.
      const outside = (image: Buffer) => {
        const copy = Buffer.from(image);
        for (let y = region.top; y < region.top + region.height; y++) {
          copy.fill(
            0,
            (y * WINDOW.width + region.left) * 3,
            (y * WINDOW.width + region.left + region.width) * 3,
          );
        }
        return copy;
      };
      expect(outside(before).equals(outside(after))).toBe(true);
      expect(region.height).toBeLessThan(80);
      expect(region.width * region.height).toBeLessThan((WINDOW.width * WINDOW.height) / 20);
    }
  });

  it('scroll the page column under a fixed top bar and sidebar', async () => {
    const page = await generateSequence('scrolling-page', SHORT);
    const [first, second] = await Promise.all(
      [page.frames[0], page.frames[1]].map((f) => f?.pixels()),
    );
    const shift = Math.round((1e5 * SCROLL_PX_PER_S) / 1e6);
    const row = (image: Buffer | undefined, y: number, from: number, to: number) =>
      image?.subarray((y * WINDOW.width + from) * 3, (y * WINDOW.width + to) * 3);
    // The column's row y + shift in the first frame is its row y in the second.
    for (const y of [TOP_BAR, 300, WINDOW.height - shift - 1]) {
      const moved = row(first, y + shift, SIDEBAR, WINDOW.width) as Buffer;
      expect(row(second, y, SIDEBAR, WINDOW.width)?.equals(moved)).toBe(true);
    }
    expect(row(second, 400, 0, SIDEBAR)?.equals(row(first, 400, 0, SIDEBAR) as Buffer)).toBe(true);
    expect(first?.equals(second as Buffer)).toBe(false);
  });

  it('move the camera content from frame to frame', async () => {
    for (const name of ['camera-pan', 'talking-head'] as const) {
      const pixels = await allPixels(await generateSequence(name, SHORT));
      expect(pixels[1]?.equals(pixels[0] as Buffer)).toBe(false);
    }
  });
});
