import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { routeList } from '../../../functions/core/contracts/routes.ts';
import { fuzzRuns, fuzzSeed, routeRequest, strayRequest } from './arbitraries.ts';
import { type FuzzApi, startFuzzApi } from './fuzz-api.ts';
import { send } from './http-client.ts';
import { checkExchange, formatTally, newTally } from './properties.ts';

/**
 * Fuzzes every route of the route table except compress (its frames have their own file) through
 * the real handlers: generated paths, query strings, headers and JSON bodies. `npm test` runs a few
 * hundred cases per route; `npm run test:fuzz` runs 10,000 (FUZZ_RUNS).
 */

const RUNS = fuzzRuns(200);
// Generous: a case is a few milliseconds; this only bounds a run that hangs.
const TIMEOUT_MS = 60_000 + RUNS * 60;

let target: FuzzApi;

beforeAll(async () => {
  target = await startFuzzApi();
});

afterAll(async () => {
  await target?.close();
});

describe('fuzzing every route', () => {
  for (const route of routeList.filter((r) => r.id !== 'compress')) {
    it(
      `answers ${route.method} ${route.path} with no 5xx and the envelope on every error`,
      async () => {
        const tally = newTally();
        await fc.assert(
          fc.asyncProperty(routeRequest(route, target.tokens), async (request) => {
            checkExchange(request, await send(target.api.url, request), tally, route);
          }),
          { numRuns: RUNS, seed: fuzzSeed() },
        );
        console.info(formatTally(route.id, tally));
      },
      TIMEOUT_MS,
    );
  }

  it(
    'answers unknown paths, wrong methods and preflights with no 5xx',
    async () => {
      const tally = newTally();
      await fc.assert(
        fc.asyncProperty(strayRequest(target.tokens), async (request) => {
          checkExchange(request, await send(target.api.url, request), tally);
        }),
        { numRuns: RUNS, seed: fuzzSeed() },
      );
      console.info(formatTally('$default', tally));
    },
    TIMEOUT_MS,
  );
});
