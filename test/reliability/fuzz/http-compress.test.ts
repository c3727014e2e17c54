import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { routes } from '../../../functions/core/contracts/routes.ts';
import { fuzzRuns, fuzzSeed } from './arbitraries.ts';
import { buildFramePool, compressRequest, type FramePool } from './frame-arbitraries.ts';
import { type FuzzApi, startFuzzApi } from './fuzz-api.ts';
import { send } from './http-client.ts';
import { checkExchange, formatTally, newTally } from './properties.ts';

/**
 * Fuzzes `POST /compress` with frames of every kind (valid, out of bounds, bombs, truncated,
 * mutated, random, oversized) as JSON (base64) and as raw image bodies, through the real handler.
 */

const RUNS = fuzzRuns(200);
// Valid frames are really compressed (tens of milliseconds each); this only bounds a hang.
const TIMEOUT_MS = 60_000 + RUNS * 250;

let target: FuzzApi;
let pool: FramePool;

beforeAll(async () => {
  [target, pool] = await Promise.all([startFuzzApi(), buildFramePool()]);
});

afterAll(async () => {
  await target?.close();
});

describe('fuzzing the compress route', () => {
  it(
    'answers any frame, body and header with no 5xx and the envelope on every error',
    async () => {
      const route = routes.compress;
      const tally = newTally();
      await fc.assert(
        fc.asyncProperty(compressRequest(route, pool, target.tokens), async (request) => {
          checkExchange(request, await send(target.api.url, request), tally, route);
        }),
        { numRuns: RUNS, seed: fuzzSeed() },
      );
      console.info(formatTally('compress', tally));
    },
    TIMEOUT_MS,
  );
});
