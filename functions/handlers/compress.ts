import {
  type CompressCommand,
  compressInputFromQuery,
  toCompressCommand,
} from '../app/compress-command.ts';
import { compressOnce, type FrameAnswer } from '../app/compress-service.ts';
import {
  type CompressJsonRequest,
  type CompressQuery,
  type CompressResponse,
  MAX_FRAME_BYTES_HTTP,
} from '../core/contracts/compress.ts';
import { PayloadTooLargeError } from '../core/errors.ts';
import { createFunctionHandler } from '../http/function-handler.ts';
import { decodedLength } from '../http/middlewares/body-parser.ts';
import { header } from '../http/middlewares/types.ts';
import {
  IDEMPOTENCY_KEY_HEADER,
  parseIdempotencyKey,
  REPLAY_HEADER,
} from '../platform/idempotency/identity.ts';
import { getRuntime } from '../platform/runtime.ts';

/** Lambda entry of the compress function: `POST /api/v1/aic/compress`. */
export const handler = createFunctionHandler('compress', {
  compress: async ({ body, query, rawBody, userId, event }) => {
    const key = parseIdempotencyKey(
      header(event, IDEMPOTENCY_KEY_HEADER),
      `header.${IDEMPOTENCY_KEY_HEADER.toLowerCase()}`,
    );
    const runtime = await getRuntime();
    const command = commandOf({ body, query, rawBody }, userId);
    const answer = await compressOnce(runtime, command, MAX_FRAME_BYTES_HTTP, key);
    return { body: answer.response, headers: answerHeaders(answer) };
  },
});

/** The command of either body form: a raw image with its fields in the query, or JSON. */
function commandOf(
  request: { body?: CompressJsonRequest; query?: CompressQuery; rawBody?: Buffer },
  userId: string,
): CompressCommand {
  const { body, query, rawBody } = request;
  if (rawBody !== undefined && query) {
    return toCompressCommand(compressInputFromQuery(query), rawBody, userId);
  }
  if (!body) throw new Error('compress invoked without a validated body');
  // The frame cap is checked on the base64 text, before anything is decoded.
  if (decodedLength(body.frame_data, true) > MAX_FRAME_BYTES_HTTP) {
    throw new PayloadTooLargeError(MAX_FRAME_BYTES_HTTP);
  }
  const { frame_data, ...input } = body;
  return toCompressCommand(input, Buffer.from(frame_data, 'base64'), userId);
}

/** A replay is marked and carries no `Server-Timing`: nothing was timed for it. */
function answerHeaders(answer: FrameAnswer): Record<string, string> {
  if (answer.replay) return { [REPLAY_HEADER]: 'true' };
  return { 'Server-Timing': serverTiming(answer.response, answer.trials) };
}

/**
 * The frame's phases, then every encode the engine tried in order (`try1`, `try2`, ...), e.g.
 * `try1;dur=3.1;desc="webp q40 x0.25 3684 B"` or `try1;dur=9.8;desc="webp lossless x1 2534 B"`: what a browser's network panel or a curl user sees
 * of the search, without a field in the response body.
 */
function serverTiming(response: CompressResponse, trials: FrameAnswer['trials']): string {
  const { decode, encode, metrics, total } = response.latency_ms;
  const phases = [
    `decode;dur=${decode}`,
    `encode;dur=${encode}`,
    `metrics;dur=${metrics}`,
    `total;dur=${total}`,
  ];
  const tries = trials.map(
    (t, i) =>
      `try${i + 1};dur=${t.encodeMs.toFixed(1)};desc="${t.description}${t.bytes === undefined ? ' failed' : ` ${t.bytes} B`}"`,
  );
  return [...phases, ...tries].join(', ');
}
