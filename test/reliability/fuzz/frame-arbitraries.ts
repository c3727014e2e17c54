/**
 * Image bytes for fuzzing the compress route: real JPEG, PNG and WebP frames from test/support/
 * frames.ts (valid, too small, too large, headers that claim a decompression bomb), truncated and
 * mutated copies of them, and random bytes with or without a format's magic number.
 */
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import sharp from 'sharp';
import type { RouteSpec } from '../../../functions/core/contracts/routes.ts';
import { encodeFrame, framePixels } from '../../support/frames.ts';
import { animatedWebp, apng } from '../../support/input-images.ts';
import {
  authorizationHeader,
  contentTypeHeader,
  extraHeaders,
  jsonBodyText,
  jsonValueText,
  queryString,
  request,
  requestIdHeader,
  schemaKeys,
} from './arbitraries.ts';
import type { FuzzRequest } from './http-client.ts';

/** The frames mutations start from, by what the service should make of them. */
export interface FramePool {
  /** Decodable, within 160x90..3840x2160. */
  valid: Buffer[];
  /** Decodable but refused: outside the dimension bounds, claiming huge dimensions, or animated. */
  outOfBounds: Buffer[];
  /** Over the 4.5 MB frame cap of the HTTP path. */
  oversized: Buffer;
}

async function rawFrame(width: number, height: number, format: 'png' | 'jpeg'): Promise<Buffer> {
  const image = sharp(framePixels('gradient', width, height), {
    raw: { width, height, channels: 3 },
  });
  return format === 'png' ? image.png().toBuffer() : image.jpeg().toBuffer();
}

/** A copy of a PNG whose IHDR claims `width` x `height` (with a correct CRC). */
export function withPngDimensions(png: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(png);
  // Signature (8), chunk length (4), "IHDR" (4), then width and height; the CRC covers type + data.
  copy.writeUInt32BE(width, 16);
  copy.writeUInt32BE(height, 20);
  copy.writeUInt32BE(crc32(copy.subarray(12, 29)), 29);
  return copy;
}

/** A copy of a baseline JPEG whose SOF0 header claims `width` x `height`. */
export function withJpegDimensions(jpeg: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(jpeg);
  const sof = copy.indexOf(Buffer.from([0xff, 0xc0]));
  if (sof < 0) throw new Error('no SOF0 marker');
  copy.writeUInt16BE(height, sof + 5);
  copy.writeUInt16BE(width, sof + 7);
  return copy;
}

/** Builds the pool (about a second: a handful of small encodes). */
export async function buildFramePool(): Promise<FramePool> {
  const small = { width: 320, height: 180 };
  const png160 = await rawFrame(160, 90, 'png');
  const jpeg160 = await rawFrame(160, 90, 'jpeg');
  const oversized = Buffer.alloc(4_500_001, 7);
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]).copy(oversized);
  return {
    valid: [
      await encodeFrame('scene', { ...small, format: 'jpeg' }),
      await encodeFrame('screen', { ...small, format: 'png' }),
      await encodeFrame('gradient', { ...small, format: 'webp' }),
      await encodeFrame('noise', { ...small, format: 'jpeg', quality: 60 }),
      png160,
      jpeg160,
    ],
    outOfBounds: [
      await rawFrame(1, 1, 'png'),
      await rawFrame(159, 90, 'jpeg'),
      await rawFrame(160, 89, 'png'),
      await rawFrame(3841, 90, 'png'),
      await rawFrame(160, 2161, 'jpeg'),
      withPngDimensions(png160, 50_000, 50_000),
      withPngDimensions(png160, 3840, 2160),
      withPngDimensions(png160, 0, 0),
      withJpegDimensions(jpeg160, 65_000, 65_000),
      withJpegDimensions(jpeg160, 3840, 2160),
      await animatedWebp(),
      await apng(2),
    ],
    oversized,
  };
}

const MAGIC = [
  Buffer.from([0xff, 0xd8, 0xff]),
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x10, 0, 0, 0]), Buffer.from('WEBP')]),
  Buffer.from('GIF89a'),
  Buffer.alloc(0),
];

/** A frame changed the way transport or a hostile client would: cut, bit-flipped, padded. */
function mutated(frames: readonly Buffer[]): fc.Arbitrary<Buffer> {
  const frame = fc.constantFrom(...frames);
  return fc.oneof(
    { arbitrary: frame, weight: 3 },
    {
      arbitrary: fc
        .tuple(frame, fc.double({ min: 0, max: 1, noNaN: true }))
        .map(([bytes, at]) => bytes.subarray(0, Math.floor(bytes.length * at))),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(
          frame,
          fc.array(
            fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })),
            {
              minLength: 1,
              maxLength: 24,
            },
          ),
        )
        .map(([bytes, flips]) => {
          const copy = Buffer.from(bytes);
          for (const [at, value] of flips) copy[Math.floor(at * (copy.length - 1))] = value;
          return copy;
        }),
      weight: 3,
    },
    {
      arbitrary: fc
        .tuple(frame, fc.uint8Array({ maxLength: 256 }), fc.boolean())
        .map(([bytes, extra, before]) =>
          before
            ? Buffer.concat([bytes.subarray(0, 16), extra, bytes.subarray(16)])
            : Buffer.concat([bytes, extra]),
        ),
      weight: 1,
    },
  );
}

/** Any frame bytes: valid, out of bounds, mutated, random, oversized (rarely). */
export function frameBytes(pool: FramePool): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...pool.valid), weight: 4 },
    { arbitrary: fc.constantFrom(...pool.outOfBounds), weight: 2 },
    { arbitrary: mutated([...pool.valid, ...pool.outOfBounds]), weight: 6 },
    {
      arbitrary: fc
        .tuple(fc.constantFrom(...MAGIC), fc.uint8Array({ maxLength: 2048 }))
        .map(([magic, rest]) => Buffer.concat([magic, rest])),
      weight: 2,
    },
    { arbitrary: fc.constant(pool.oversized), weight: 1 },
  );
}

const validField: Record<string, fc.Arbitrary<unknown>> = {
  frame_number: fc.nat(),
  timestamp_us: fc.nat(),
  frame_type: fc.constantFrom('video', 'screen'),
  mode: fc.constantFrom('off', 'conservative', 'adaptive', 'aggressive'),
  target_compression_ratio: fc.double({ min: 0.1, max: 0.95, noNaN: true }),
  max_latency_ms: fc.integer({ min: 5, max: 100 }),
  min_quality_score: fc.double({ min: 0.5, max: 1, noNaN: true }),
  network_condition: fc.double({ min: 0, max: 1, noNaN: true }),
  network: fc.record(
    {
      available_bandwidth_kbps: fc.integer({ min: 64, max: 100_000 }),
      rtt_ms: fc.integer({ min: 0, max: 5000 }),
      packet_loss_percent: fc.double({ min: 0, max: 100, noNaN: true }),
      jitter_ms: fc.integer({ min: 0, max: 1000 }),
      fps: fc.integer({ min: 1, max: 120 }),
    },
    { requiredKeys: ['available_bandwidth_kbps', 'rtt_ms', 'packet_loss_percent', 'jitter_ms'] },
  ),
};

/** A field's value as raw JSON: a valid one mostly, else anything. */
function fieldText(name: string): fc.Arbitrary<string> {
  const valid = validField[name];
  return valid
    ? fc.oneof(
        { arbitrary: valid.map((v) => JSON.stringify(v)), weight: 8 },
        { arbitrary: jsonValueText, weight: 1 },
      )
    : jsonValueText;
}

/** `frame_data`: base64 of the bytes, or base64 damaged the ways clients damage it. */
function frameDataText(pool: FramePool): fc.Arbitrary<string> {
  const base64 = frameBytes(pool).map((bytes) => bytes.toString('base64'));
  return fc.oneof(
    { arbitrary: base64.map((b) => JSON.stringify(b)), weight: 8 },
    {
      arbitrary: fc
        .tuple(
          base64,
          fc.constantFrom(
            (b: string) => b.replace(/=+$/, ''),
            (b: string) => b.replace(/.{76}/g, '$&\n'),
            (b: string) => b.replace(/\+/g, '-').replace(/\//g, '_'),
            (b: string) => `data:image/jpeg;base64,${b}`,
            (b: string) => ` ${b} `,
            (b: string) => `${b}A`,
          ),
        )
        .map(([b, damage]) => JSON.stringify(damage(b))),
      weight: 2,
    },
    { arbitrary: jsonValueText, weight: 1 },
  );
}

/**
 * A request to `POST /compress`: a JSON body (fields valid or not, frame bytes of every kind) or a
 * raw image body with the fields as query parameters, with the generated headers.
 */
export function compressRequest(
  route: RouteSpec,
  pool: FramePool,
  tokens: readonly string[],
): fc.Arbitrary<FuzzRequest> {
  const spec = route.request?.body;
  const optional = Object.keys(validField);
  const sessionId = fc.oneof(
    { arbitrary: fc.uuid({ version: 4 }).map((id) => JSON.stringify(id)), weight: 6 },
    { arbitrary: jsonValueText, weight: 1 },
  );
  const jsonBody = fc
    .record({
      sessionId: fc.option(sessionId, { freq: 20, nil: undefined }),
      frameData: fc.option(frameDataText(pool), { freq: 20, nil: undefined }),
      fields: fc
        .subarray(optional, { maxLength: 3 })
        .chain(
          (names): fc.Arbitrary<(readonly [string, string])[]> =>
            fc.tuple(...names.map((name) => fieldText(name).map((text) => [name, text] as const))),
        ),
      extra: fc.array(
        fc.tuple(fc.constantFrom('__proto__', 'constructor', 'admin', 'user_id'), jsonValueText),
        {
          maxLength: 1,
        },
      ),
    })
    .map(({ sessionId: id, frameData, fields, extra }) => {
      const entries: (readonly [string, string])[] = [
        ...(id === undefined ? [] : [['session_id', id] as const]),
        ...(frameData === undefined ? [] : [['frame_data', frameData] as const]),
        ...fields,
        ...extra,
      ];
      return Buffer.from(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);
    });
  const jsonRequest = fc.record({
    body: fc.oneof(
      { arbitrary: jsonBody, weight: 8 },
      {
        arbitrary: jsonBodyText(undefined, schemaKeys(spec?.schema)).map((t) => Buffer.from(t)),
        weight: 1,
      },
    ),
    contentType: contentTypeHeader(['application/json']),
    query: fc.constant(''),
  });
  const rawRequest = fc.record({
    body: frameBytes(pool),
    contentType: contentTypeHeader(['image/jpeg', 'image/png', 'image/webp']),
    query: fc
      .tuple(fc.uuid({ version: 4 }), queryString(undefined, schemaKeys(spec?.rawQuery)))
      .map(([id, rest]) => `?session_id=${id}${rest.replace('?', '&')}`),
  });
  return fc
    .record({
      parts: fc.oneof({ arbitrary: jsonRequest, weight: 3 }, { arbitrary: rawRequest, weight: 2 }),
      requestId: requestIdHeader,
      authorization: authorizationHeader(tokens),
      extra: extraHeaders,
    })
    .map(({ parts, requestId, authorization, extra }) =>
      request(route.method, `${route.path}${parts.query}`, {
        requestId,
        authorization,
        extra,
        contentType: parts.contentType,
        body: parts.body,
      }),
    );
}
