import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { compressResponseSchema } from '../../../functions/core/contracts/compress.ts';
import { errorEnvelopeSchema } from '../../../functions/core/contracts/errors.ts';
import { useTestApi } from '../../support/api-fixture.ts';
import { animatedWebp, apng, halvesImage, solidImage } from '../../support/input-images.ts';

/**
 * Frames as cameras and screens write them, over HTTP: EXIF orientation, alpha, and animations,
 * which are refused.
 */

const COMPRESS = '/api/v1/aic/compress';

const fixture = useTestApi('compress-inputs');

const post = (frame: Buffer, extra: Record<string, unknown> = {}) =>
  fixture.api.request(COMPRESS, {
    method: 'POST',
    user: 'alice',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      session_id: randomUUID(),
      frame_data: frame.toString('base64'),
      max_latency_ms: 100,
      ...extra,
    }),
  });

async function ok(response: Response) {
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return compressResponseSchema.parse(JSON.parse(text));
}

describe('POST /compress with frames as cameras and screens write them', () => {
  it('answers an animated WebP or APNG with 422, the request id and what to do instead', async () => {
    for (const [type, frame] of [
      ['image/webp', await animatedWebp()],
      ['image/png', await apng(2)],
    ] as const) {
      const responses = [
        await post(frame),
        await fixture.api.request(`${COMPRESS}?session_id=${randomUUID()}`, {
          method: 'POST',
          user: 'alice',
          headers: { 'content-type': type },
          body: frame,
        }),
      ];
      for (const response of responses) {
        const text = await response.text();
        expect(response.status, text).toBe(422);
        const { error } = errorEnvelopeSchema.parse(JSON.parse(text));
        expect(error).toMatchObject({
          code: 'UNPROCESSABLE_FRAME',
          message: 'Animated images are not accepted: send one frame per request',
          details: [{ field: 'frame_data', code: 'animated_image' }],
        });
        expect(error.request_id).toBe(response.headers.get('x-request-id'));
      }
    }
  });

  it('answers an EXIF-rotated JPEG with the upright size and an upright output', async () => {
    const rotated = await halvesImage(640, 360)
      .jpeg({ quality: 90 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const result = await ok(await post(rotated, { mode: 'aggressive' }));
    expect(result.status).toBe('success');
    const output = Buffer.from(result.compressed_data, 'base64');
    // Upright pixels and no orientation tag left to turn them a second time.
    expect((await sharp(output).metadata()).orientation ?? 1).toBe(1);
    const { data, info } = await sharp(output).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([result.width, result.height]);
    // The answer's own size is upright: a scale of the 360x640 frame, not of 640x360.
    expect(result.height).toBeGreaterThan(result.width);
    expect(result.width / result.height).toBeCloseTo(360 / 640, 1);
    // The stored left half (red) is shown on top once turned.
    const red = (x: number, y: number) => data[(y * info.width + x) * info.channels] ?? 0;
    expect(red(info.width >> 1, 4)).toBeGreaterThan(200);
    expect(red(info.width >> 1, info.height - 4)).toBeLessThan(50);
  });

  it('compresses an RGBA PNG into an opaque frame', async () => {
    const rgba = await solidImage(640, 360, { r: 200, g: 100, b: 50, alpha: 0.5 }).png().toBuffer();
    const result = await ok(await post(rgba, { mode: 'aggressive' }));
    expect(result.status).toBe('success');
    expect(result.width / result.height).toBeCloseTo(640 / 360, 1);
    const output = Buffer.from(result.compressed_data, 'base64');
    expect((await sharp(output).metadata()).hasAlpha).toBe(false);
    const { data } = await sharp(output).raw().toBuffer({ resolveWithObject: true });
    // Half-transparent over black.
    expect(Math.abs((data[0] ?? 0) - 100)).toBeLessThanOrEqual(8);
  });
});
