import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compressResponseSchema } from '../../../functions/core/contracts/compress.ts';
import {
  type NetworkEstimateResponse,
  networkEstimateResponseSchema,
} from '../../../functions/core/contracts/network.ts';
import { useTestApi } from '../../support/api-fixture.ts';
import { encodeFrame } from '../../support/frames.ts';

const fixture = useTestApi('recommendation');

const HD = { width: 1280, height: 720 };

const json = (method: string, body: unknown, user: string): RequestInit & { user: string } => ({
  method,
  user,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

async function update(session: string, user: string, kbps: number, loss: number) {
  const network = {
    available_bandwidth_kbps: kbps,
    rtt_ms: 30,
    packet_loss_percent: loss,
    jitter_ms: 4,
    fps: 30,
  };
  const response = await fixture.api.request(
    `/api/v1/aic/sessions/${session}/network`,
    json('PUT', network, user),
  );
  expect(response.status).toBe(200);
  return { network, estimate: networkEstimateResponseSchema.parse(await response.json()) };
}

/**
 * Compresses a frame (720p unless said otherwise) for the session with no policy override. The network sent is the
 * session's live estimate (smoothed bandwidth, last loss and frame rate), which is what /compress
 * budgets a frame with when its request carries none.
 */
async function compress(
  session: string,
  user: string,
  estimate: NetworkEstimateResponse,
  loss: number,
  offsetX: number,
  size = HD,
) {
  const frame = await encodeFrame('scene', { ...size, offsetX });
  const network = {
    available_bandwidth_kbps: estimate.smoothed_bandwidth_kbps,
    rtt_ms: 30,
    packet_loss_percent: loss,
    jitter_ms: 4,
    fps: 30,
  };
  const response = await fixture.api.request(
    '/api/v1/aic/compress',
    json('POST', { session_id: session, frame_data: frame.toString('base64'), network }, user),
  );
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return {
    ...compressResponseSchema.parse(JSON.parse(text)),
    firstTry: firstTry(response.headers.get('server-timing') ?? ''),
  };
}

/** The engine's first encode, from the `try1` entry of the response's `Server-Timing`. */
function firstTry(serverTiming: string) {
  const match = /try1;dur=[\d.]+;desc="(\w+) q(\d+) x([\d.]+)/.exec(serverTiming);
  if (!match) throw new Error(`no first try in Server-Timing: ${serverTiming}`);
  return { format: match[1], quality: Number(match[2]), scale: Number(match[3]) };
}

function expectSameCandidate(
  recommendation: NetworkEstimateResponse['recommendation'],
  result: { firstTry: ReturnType<typeof firstTry> },
) {
  expect(result.firstTry).toEqual({
    format: recommendation.format,
    quality: recommendation.quality,
    scale: recommendation.scale,
  });
}

const policy = (fields: Record<string, unknown>) => ({
  enabled: true,
  mode: 'adaptive',
  target_compression_ratio: 0.8,
  max_latency_ms: 100,
  min_quality_score: 0.85,
  allowed_formats: ['jpeg', 'webp'],
  enable_predictive_compression: true,
  enable_perceptual_optimization: true,
  opt_out: false,
  ...fields,
});

async function storePolicy(user: string, fields: Record<string, unknown>) {
  const response = await fixture.api.request(
    '/api/v1/aic/config',
    json('PUT', policy(fields), user),
  );
  expect(response.status).toBe(200);
}

// The latency budgets leave the frame's decode time out of the question: /compress reserves the
// measured decode time of the actual frame, which a plan made before the frame cannot know. The
// engine's first trial is the `try1` entry of the response's Server-Timing.
describe('the recommendation of a network update', () => {
  it.each([
    ['the default adaptive policy', {}, ['jpeg', 'webp']],
    [
      'a stored conservative JPEG-only policy',
      {
        mode: 'conservative',
        target_compression_ratio: 0.5,
        min_quality_score: 0.9,
        allowed_formats: ['jpeg'],
      },
      ['jpeg'],
    ],
  ])(
    'names the candidate /compress tries first under %s, once the session has sent a frame',
    async (_, fields, formats) => {
      const session = randomUUID();
      const user = `agree-${randomUUID()}`;
      await storePolicy(user, fields);
      const kbps = 1500;
      const loss = 1;
      const first = await update(session, user, kbps, loss);
      expect(first.estimate.smoothed_bandwidth_kbps).toBe(kbps);
      expect(formats).toContain(first.estimate.recommendation.format);
      // Before its first frame a session's content is unknown: the plan assumes none in particular,
      // while /compress centres its cold start on the frame it sees (docs/design.md section 4.7),
      // so only the budget is sure to agree here.
      const cold = await compress(session, user, first.estimate, loss, 0);
      expect(cold.budget_bytes).toBe(first.estimate.budget_bytes_per_frame);

      // Each frame teaches the session's model; the next recommendation comes from it.
      for (const offsetX of [8, 16]) {
        const next = await update(session, user, kbps, loss);
        const learned = await compress(session, user, next.estimate, loss, offsetX);
        expect(learned.budget_bytes).toBe(next.estimate.budget_bytes_per_frame);
        expectSameCandidate(next.estimate.recommendation, learned);
      }
    },
  );

  it('plans for the frame size the session really sends once it has sent one', async () => {
    const session = randomUUID();
    const user = `agree-size-${randomUUID()}`;
    await storePolicy(user, {});
    const small = { width: 640, height: 360 };
    const first = await update(session, user, 400, 1);
    await compress(session, user, first.estimate, 1, 0, small);
    for (const offsetX of [8, 16]) {
      const next = await update(session, user, 400, 1);
      const result = await compress(session, user, next.estimate, 1, offsetX, small);
      expectSameCandidate(next.estimate.recommendation, result);
    }
  });

  it('recommends sending the original when the stored policy is off', async () => {
    const user = `agree-off-${randomUUID()}`;
    await storePolicy(user, { mode: 'off' });
    const { estimate } = await update(randomUUID(), user, 8000, 0);
    expect(estimate.recommendation).toEqual({ mode: 'off', format: null, quality: null, scale: 1 });
  });
});
