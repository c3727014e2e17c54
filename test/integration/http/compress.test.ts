import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { compressResponseSchema } from '../../../functions/core/contracts/compress.ts';
import { errorEnvelopeSchema } from '../../../functions/core/contracts/errors.ts';
import { ENGINE_MODEL_VERSION } from '../../../functions/core/engine/model.ts';
import { analysisFactor, referenceFactor } from '../../../functions/core/quality/ssim.ts';
import { BURST_SECONDS, SPREAD_FRAMES } from '../../../functions/core/temporal/bit-bucket.ts';
import { modelKey } from '../../../functions/platform/redis/session-model.ts';
import { useTestApi } from '../../support/api-fixture.ts';
import { encodeFrame, type FrameKind, panningSequence } from '../../support/frames.ts';
import { type GreyImage, referencePsnr, referenceSsim } from '../../support/reference-ssim.ts';

const COMPRESS = '/api/v1/aic/compress';

const fixture = useTestApi('compress');

type Body = Record<string, unknown>;

const post = (body: Body, user = 'alice') =>
  fixture.api.request(COMPRESS, {
    method: 'POST',
    user,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const frameBody = async (kind: FrameKind = 'scene', extra: Body = {}, options = {}) => ({
  session_id: randomUUID(),
  frame_data: (await encodeFrame(kind, options)).toString('base64'),
  ...extra,
});

async function ok(response: Response) {
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return compressResponseSchema.parse(JSON.parse(text));
}

async function rejected(response: Response, status: number, code: string) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body = errorEnvelopeSchema.parse(JSON.parse(text));
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toBe(response.headers.get('x-request-id'));
  return body;
}

/** BT.601 luma of an encoded image, decoded by sharp. */
async function greyOf(image: Buffer): Promise<GreyImage> {
  const { data, info } = await sharp(image)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const luma = new Float64Array(info.width * info.height);
  for (let i = 0; i < luma.length; i++) {
    luma[i] = Math.round(
      0.299 * (data[i * 3] ?? 0) + 0.587 * (data[i * 3 + 1] ?? 0) + 0.114 * (data[i * 3 + 2] ?? 0),
    );
  }
  return { width: info.width, height: info.height, data: luma };
}

/** Naive pixel-centre bilinear upscale, written here so the check shares no code with the service. */
function upscale(image: GreyImage, width: number, height: number): GreyImage {
  if (image.width === width && image.height === height) return image;
  const out = new Float64Array(width * height);
  const at = (x: number, y: number) =>
    Number(image.data[Math.min(image.height - 1, y) * image.width + Math.min(image.width - 1, x)]);
  for (let y = 0; y < height; y++) {
    const sy = Math.max(0, ((y + 0.5) * image.height) / height - 0.5);
    const y0 = Math.floor(sy);
    for (let x = 0; x < width; x++) {
      const sx = Math.max(0, ((x + 0.5) * image.width) / width - 0.5);
      const x0 = Math.floor(sx);
      const fx = sx - x0;
      const fy = sy - y0;
      const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
      const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
      out[y * width + x] = Math.round(top * (1 - fy) + bottom * fy);
    }
  }
  return { width, height, data: out };
}

describe('POST /compress', () => {
  it.each(['gradient', 'noise', 'screen', 'scene'] as const)(
    'returns a smaller, decodable %s frame whose reported figures match an independent measurement',
    async (kind) => {
      const body = await frameBody(kind, { mode: 'aggressive', max_latency_ms: 100 });
      const original = Buffer.from(body.frame_data, 'base64');
      const response = await post(body);
      const result = await ok(response);
      const timing = response.headers.get('server-timing') ?? '';
      expect(timing).toMatch(
        /^decode;dur=[\d.]+, encode;dur=[\d.]+, metrics;dur=[\d.]+, total;dur=[\d.]+(, try\d+;dur=[\d.]+;desc="(jpeg|webp|avif) q\d+ x[\d.]+ (\d+ B|failed)")+$/,
      );
      // One entry per encode the engine tried, in order.
      expect(timing.match(/try\d+;/g)).toHaveLength(result.encode_attempts);
      const output = Buffer.from(result.compressed_data, 'base64');
      expect(result.original_size_bytes).toBe(original.length);
      expect(result.compressed_size_bytes).toBe(output.length);
      expect(result.compression_ratio).toBeCloseTo(1 - output.length / original.length, 4);
      if (result.status === 'fallback') {
        expect(output.equals(original)).toBe(true);
        expect(result.fallback_reason).toEqual(expect.any(String));
        return;
      }
      expect(output.length).toBeLessThan(original.length);
      const meta = await sharp(output).metadata();
      expect(meta.format).toBe(result.format);
      expect([meta.width, meta.height]).toEqual([result.width, result.height]);
      if (result.within_budget) expect(output.length).toBeLessThanOrEqual(result.budget_bytes);
      // The reported quality is what an independent (naive) implementation measures on the output
      // shown at the input's size: `ssim` at Wang's factor, `quality_score` at the engine's.
      const input = await greyOf(original);
      const shown = upscale(await greyOf(output), input.width, input.height);
      const wang = referenceFactor(input.width, input.height);
      const engine = analysisFactor(input.width, input.height);
      expect(Math.abs((result.ssim ?? 0) - referenceSsim(input, shown, wang))).toBeLessThan(2e-3);
      expect(
        Math.abs((result.quality_score ?? 0) - referenceSsim(input, shown, engine)),
      ).toBeLessThan(2e-3);
      expect(result.psnr_db).toBeCloseTo(Math.min(100, referencePsnr(input, shown)), 0);
      // The floor applies to the engine's measurement.
      expect(result.quality_score).toBeGreaterThanOrEqual(0.7);
    },
  );

  it('spends the session bit bucket: a first frame its share, the next its share and a quarter of what the first left', async () => {
    const network = {
      available_bandwidth_kbps: 800,
      rtt_ms: 80,
      packet_loss_percent: 2,
      jitter_ms: 10,
      fps: 15,
    };
    const session_id = randomUUID();
    const body = async (frame_number: number) => ({
      ...(await frameBody('scene', {
        network,
        max_latency_ms: 100,
        min_quality_score: 0.5,
        target_compression_ratio: 0.1,
      })),
      session_id,
      frame_number,
    });
    const rate = (800_000 / 8) * 0.98 * 0.85;
    const share = rate / 15;
    const target = (tokens: number) => Math.floor(share + (tokens - share) / SPREAD_FRAMES);

    const first = await ok(await post(await body(0)));
    const burst = rate * BURST_SECONDS;
    expect(first.budget_bytes).toBe(Math.floor(share));
    expect(first.status).toBe('success');
    expect(first.within_budget).toBe(true);
    expect(first.compressed_size_bytes).toBeLessThanOrEqual(first.budget_bytes);

    // One frame interval later (no timestamps: the fps is the clock) the bucket gained one share.
    const second = await ok(await post(await body(1)));
    const left = Math.min(burst, share - first.compressed_size_bytes + share);
    expect(second.budget_bytes).toBe(Math.min(Math.floor(left), target(left)));
    expect(second.compressed_size_bytes).toBeLessThanOrEqual(second.budget_bytes);
  });

  it('sends the README screen sample at full size with a lossless or palette encoding', async () => {
    const original = await readFile('docs/samples/screen-1280x720.png');
    const network = {
      available_bandwidth_kbps: 2500,
      rtt_ms: 40,
      packet_loss_percent: 0,
      jitter_ms: 5,
      fps: 10,
    };
    const response = await post({
      session_id: randomUUID(),
      frame_data: original.toString('base64'),
      frame_type: 'screen',
      network,
      max_latency_ms: 100,
    });
    const result = await ok(response);
    const seen = `${JSON.stringify({ ...result, compressed_data: '' })} ${response.headers.get('server-timing')}`;
    expect(result.status, seen).toBe('success');
    expect(result.fallback_used).toBe(false);
    expect(result.within_budget, seen).toBe(true);
    expect([result.width, result.height]).toEqual([1280, 720]);
    expect(['webp', 'png']).toContain(result.format);
    expect(result.compressed_size_bytes).toBeLessThan(original.length);
    expect(response.headers.get('server-timing')).toMatch(
      /desc="(webp lossless|png palette \d+) x1 \d+ B"/,
    );
    const output = Buffer.from(result.compressed_data, 'base64');
    expect(await sharp(output).metadata()).toMatchObject({ format: result.format, width: 1280 });
  });

  it('accepts the raw image as the body with the fields as query parameters', async () => {
    const session = randomUUID();
    const png = await encodeFrame('gradient', { format: 'png' });
    const response = await fixture.api.request(
      `${COMPRESS}?session_id=${session}&frame_number=7&mode=adaptive&max_latency_ms=100`,
      {
        method: 'POST',
        user: 'alice',
        headers: { 'content-type': 'image/png' },
        body: png,
      },
    );
    const result = await ok(response);
    expect(result.frame_number).toBe(7);
    expect(result.original_size_bytes).toBe(png.length);
    expect(result.compressed_size_bytes).toBeLessThan(png.length);
  });

  it('passes frames through untouched in mode off', async () => {
    const body = await frameBody('scene', { mode: 'off' });
    const result = await ok(await post(body));
    expect(result.compressed_data).toBe(body.frame_data);
    expect(result.encode_attempts).toBe(0);
    expect(result.compression_ratio).toBe(0);
  });

  it('follows the caller stored config when the request sets nothing', async () => {
    const put = await fixture.api.request('/api/v1/aic/config', {
      method: 'PUT',
      user: 'optout-user',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        enabled: true,
        mode: 'adaptive',
        target_compression_ratio: 0.8,
        max_latency_ms: 20,
        min_quality_score: 0.85,
        allowed_formats: ['jpeg'],
        enable_predictive_compression: true,
        enable_perceptual_optimization: true,
        opt_out: true,
      }),
    });
    expect(put.status).toBe(200);
    const body = await frameBody('scene');
    const result = await ok(await post(body, 'optout-user'));
    expect(result.compressed_data).toBe(body.frame_data);
  });

  it('stores every frame and the session totals for the owner', async () => {
    const session = randomUUID();
    for (let i = 0; i < 3; i++) {
      await ok(
        await post(
          {
            ...(await frameBody('scene', { frame_number: i, max_latency_ms: 100 })),
            session_id: session,
          },
          'frank',
        ),
      );
    }
    await fixture.api.metricsSettled();
    const frames = await fixture.db
      .sql`select user_id, frame_number from frame_metrics where session_id = ${session} order by frame_number`;
    expect(frames.map((f) => [f.user_id, f.frame_number])).toEqual([
      ['frank', 0],
      ['frank', 1],
      ['frank', 2],
    ]);
    const [totals] = await fixture.db
      .sql`select user_id, frames_total, bytes_in_total, bytes_out_total from sessions where session_id = ${session}`;
    expect(totals).toMatchObject({ user_id: 'frank', frames_total: 3 });
    expect(totals?.bytes_out_total).toBeLessThan(totals?.bytes_in_total);
  });

  it('gives another tenant that sends a frame with the same session id a session of its own, and leaves the first tenant’s session and model as they were', async () => {
    const { Redis } = await import('ioredis');
    const redis = new Redis('redis://127.0.0.1:6379');
    try {
      const [grace, mallory] = [`grace-${randomUUID()}`, `mallory-${randomUUID()}`];
      const body = await frameBody('scene', { frame_number: 0, max_latency_ms: 100 });
      const session = body.session_id;
      await ok(await post(body, grace));
      await fixture.api.metricsSettled();
      const totals = () => fixture.db.sql<
        { user_id: string; frames_total: number; bytes_in_total: number }[]
      >`
        select user_id, frames_total::int, bytes_in_total::int from sessions
        where session_id = ${session} order by started_at`;
      const [graceBefore] = await totals();
      const graceModel = await redis.get(`${fixture.prefix}${modelKey(grace, session)}`);
      expect(graceModel).not.toBeNull();

      // The same body, frame number included: Mallory's own frame, not a repeat of Grace's.
      const own = await ok(await post(body, mallory));
      expect(own.session_id).toBe(session);
      await fixture.api.metricsSettled();

      expect(await totals()).toEqual([
        graceBefore,
        { user_id: mallory, frames_total: 1, bytes_in_total: own.original_size_bytes },
      ]);
      expect(graceBefore).toMatchObject({ user_id: grace, frames_total: 1 });
      const frames = await fixture.db.sql<{ user_id: string; n: number }[]>`
        select user_id, count(*)::int as n from frame_metrics where session_id = ${session}
        group by user_id order by user_id`;
      expect(frames).toEqual([
        { user_id: grace, n: 1 },
        { user_id: mallory, n: 1 },
      ]);
      expect(await redis.get(`${fixture.prefix}${modelKey(grace, session)}`)).toBe(graceModel);
      expect(await redis.exists(`${fixture.prefix}${modelKey(mallory, session)}`)).toBe(1);
    } finally {
      redis.disconnect();
    }
  });
});

describe('POST /compress on a congested network', () => {
  // About 350 bytes a frame: less than any encoding of a 640x360 frame of noise.
  const congested = {
    network: {
      available_bandwidth_kbps: 100,
      rtt_ms: 80,
      packet_loss_percent: 0,
      jitter_ms: 5,
      fps: 30,
    },
    max_latency_ms: 100,
    min_quality_score: 0.5,
  };
  const noise = (extra: Body = {}) =>
    frameBody('noise', { ...congested, ...extra }, { width: 640, height: 360, quality: 90 });

  it('drops a frame nothing fits, by default in adaptive mode: nothing to send', async () => {
    const result = await ok(await post(await noise()));
    expect(result).toMatchObject({
      status: 'dropped',
      drop_reason: 'no_candidate_fits',
      compressed_data: '',
      compressed_size_bytes: 0,
      within_budget: true,
      ssim: null,
      psnr_db: null,
      fallback_used: false,
      fallback_reason: null,
    });
  });

  it('sends the smallest encoding over the budget or the original when the policy says so', async () => {
    const smallest = await ok(await post(await noise({ on_budget_miss: 'smallest' })));
    expect(smallest).toMatchObject({ status: 'success', within_budget: false, drop_reason: null });
    expect(smallest.compressed_size_bytes).toBeGreaterThan(smallest.budget_bytes);
    expect(smallest.quality_score).toBeGreaterThanOrEqual(0.5);
    const original = await ok(await post(await noise({ on_budget_miss: 'original' })));
    expect(original).toMatchObject({
      status: 'fallback',
      fallback_reason: 'no_candidate_fits',
      compressed_size_bytes: original.original_size_bytes,
      ssim: 1,
    });
  });

  it('follows the stored policy, and sends the smallest encoding in conservative mode', async () => {
    const put = await fixture.api.request('/api/v1/aic/config', {
      method: 'PUT',
      user: 'dora',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        enabled: true,
        mode: 'adaptive',
        target_compression_ratio: 0.8,
        max_latency_ms: 100,
        min_quality_score: 0.5,
        allowed_formats: ['jpeg', 'webp'],
        enable_predictive_compression: true,
        enable_perceptual_optimization: true,
        opt_out: false,
        on_budget_miss: 'original',
      }),
    });
    expect(put.status, await put.text()).toBe(200);
    expect((await ok(await post(await noise(), 'dora'))).status).toBe('fallback');
    const conservative = await ok(
      await post(await noise({ mode: 'conservative', min_quality_score: 0.5 }), 'erin'),
    );
    expect(conservative).toMatchObject({ status: 'success', within_budget: false });
  });
});

describe('predictive compression across a session', () => {
  it('learns the session so that later frames take about one encode', async () => {
    const session = randomUUID();
    const network = {
      available_bandwidth_kbps: 1500,
      rtt_ms: 60,
      packet_loss_percent: 1,
      jitter_ms: 8,
      fps: 20,
    };
    const frames = await panningSequence(16, { width: 640, height: 360 });
    const attempts: number[] = [];
    for (const [index, frame] of frames.entries()) {
      const result = await ok(
        await post({
          session_id: session,
          frame_number: index,
          frame_data: frame.toString('base64'),
          network,
          max_latency_ms: 100,
        }),
      );
      expect(result.status).toBe('success');
      attempts.push(result.encode_attempts);
    }
    const later = attempts.slice(10);
    expect(later.reduce((sum, n) => sum + n, 0) / later.length).toBeLessThanOrEqual(1.5);
  });

  it('keeps the model in Redis with a TTL and starts cold from a corrupt one', async () => {
    const { Redis } = await import('ioredis');
    const redis = new Redis('redis://127.0.0.1:6379');
    try {
      const body = await frameBody('scene', { max_latency_ms: 100 });
      await ok(await post(body));
      const key = `${fixture.prefix}${modelKey('alice', body.session_id)}`;
      expect(await redis.ttl(key)).toBeGreaterThan(3000);
      expect(JSON.parse((await redis.get(key)) ?? '{}')).toMatchObject({
        version: ENGINE_MODEL_VERSION,
      });
      await redis.set(key, `{"version":${ENGINE_MODEL_VERSION},"frames":"garbage"}`, 'EX', 60);
      const again = await ok(
        await post({
          ...(await frameBody('scene', { max_latency_ms: 100 })),
          session_id: body.session_id,
        }),
      );
      expect(again.status).toBe('success');
      expect(JSON.parse((await redis.get(key)) ?? '{}').frames).toEqual(expect.any(Number));
    } finally {
      redis.disconnect();
    }
  });
});

describe('POST /compress with bad input', () => {
  it('answers invalid fields with 400 and one detail per field', async () => {
    const body = await frameBody('scene', {
      session_id: 'not-a-uuid',
      target_compression_ratio: 2,
      frame_type: 'hologram',
    });
    const error = await rejected(await post(body), 400, 'VALIDATION_FAILED');
    expect(error.error.details?.map((d) => d.field).sort()).toEqual([
      'body.frame_type',
      'body.session_id',
      'body.target_compression_ratio',
    ]);
  });

  it('answers a UUID that is not version 4 with 400', async () => {
    const body = await frameBody('scene', { session_id: '6ba7b810-9dad-11d1-80b4-00c04fd430c8' });
    await rejected(await post(body), 400, 'VALIDATION_FAILED');
  });

  it('answers missing or non-base64 frame data with 400', async () => {
    await rejected(await post({ session_id: randomUUID() }), 400, 'VALIDATION_FAILED');
    await rejected(
      await post({ session_id: randomUUID(), frame_data: 'not base64!' }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('answers network together with network_condition with 400', async () => {
    const network = {
      available_bandwidth_kbps: 800,
      rtt_ms: 80,
      packet_loss_percent: 2,
      jitter_ms: 10,
    };
    await rejected(
      await post(await frameBody('scene', { network, network_condition: 0.5 })),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('answers an image that is not JPEG, PNG or WebP with 415', async () => {
    const gif = await sharp({
      create: { width: 320, height: 180, channels: 3, background: '#123456' },
    })
      .gif()
      .toBuffer();
    await rejected(
      await post({ session_id: randomUUID(), frame_data: gif.toString('base64') }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    const raw = await fixture.api.request(`${COMPRESS}?session_id=${randomUUID()}`, {
      method: 'POST',
      user: 'alice',
      headers: { 'content-type': 'image/gif' },
      body: gif,
    });
    await rejected(raw, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers a frame that does not decode with 422', async () => {
    const jpeg = await encodeFrame('scene');
    const truncated = jpeg.subarray(0, 300);
    await rejected(
      await post({ session_id: randomUUID(), frame_data: truncated.toString('base64') }),
      422,
      'UNPROCESSABLE_FRAME',
    );
  });

  it('answers dimensions outside 160x90..3840x2160 with 422', async () => {
    const small = await encodeFrame('gradient', { width: 120, height: 80 });
    await rejected(
      await post({ session_id: randomUUID(), frame_data: small.toString('base64') }),
      422,
      'UNPROCESSABLE_FRAME',
    );
    const wide = await sharp({
      create: { width: 4000, height: 200, channels: 3, background: '#000' },
    })
      .jpeg()
      .toBuffer();
    await rejected(
      await post({ session_id: randomUUID(), frame_data: wide.toString('base64') }),
      422,
      'UNPROCESSABLE_FRAME',
    );
  });

  it('refuses a decompression bomb without decoding it', async () => {
    const bomb = await sharp({
      create: { width: 12_000, height: 12_000, channels: 3, background: '#000' },
    })
      .png({ compressionLevel: 9 })
      .toBuffer();
    expect(bomb.length).toBeLessThan(1_000_000);
    await rejected(
      await post({ session_id: randomUUID(), frame_data: bomb.toString('base64') }),
      422,
      'UNPROCESSABLE_FRAME',
    );
  });

  it('answers a frame over 4.5 MB with 413 before decoding it', async () => {
    const big = Buffer.alloc(4_600_000, 7);
    big.set([0xff, 0xd8, 0xff]);
    await rejected(
      await post({ session_id: randomUUID(), frame_data: big.toString('base64') }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    const raw = await fixture.api.request(`${COMPRESS}?session_id=${randomUUID()}`, {
      method: 'POST',
      user: 'alice',
      headers: { 'content-type': 'image/jpeg' },
      body: big,
    });
    await rejected(raw, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers raw bodies with bad query parameters with 400', async () => {
    const jpeg = await encodeFrame('scene');
    const response = await fixture.api.request(
      `${COMPRESS}?session_id=${randomUUID()}&max_latency_ms=abc`,
      {
        method: 'POST',
        user: 'alice',
        headers: { 'content-type': 'image/jpeg' },
        body: jpeg,
      },
    );
    const error = await rejected(response, 400, 'VALIDATION_FAILED');
    expect(error.error.details?.[0]?.field).toBe('query.max_latency_ms');
  });

  it('requires a token', async () => {
    const response = await fixture.api.request(COMPRESS, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await frameBody()),
    });
    await rejected(response, 401, 'UNAUTHORIZED');
  });
});
