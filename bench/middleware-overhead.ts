/**
 * Benchmark: the cost of the whole HTTP middleware chain (request ID, CORS, security headers, error
 * handling, route resolution, auth, body parsing, zod validation, access log, Powertools logger,
 * metrics and tracer) around a no-op route, against the same no-op called bare, in one run.
 */
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { DEFAULT_CONFIG } from '../functions/core/contracts/config.ts';
import { routeKey, routes } from '../functions/core/contracts/routes.ts';
import { createFunctionHandler } from '../functions/http/function-handler.ts';
import { lambdaContext, toApiGatewayEvent } from '../functions/local/api-gateway-event.ts';
import { count, ms, times } from './format.ts';
import { markdownTable, startRun, writeBenchmarkPage } from './report-page.ts';
import { summarise } from './stats.ts';

const WARMUP = 2_000;
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20_000);
const GOAL_P99_MS = 2;

type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

const noop = () => ({ body: { ok: true } });
const bare: Handler = async () => ({ statusCode: 200, body: JSON.stringify({ ok: true }) });
// The middy handler also takes an options argument; Lambda (and this benchmark) pass two.
const full = createFunctionHandler('dashboard', {
  getConfig: noop,
  putConfig: noop,
  postConfig: noop,
  listMetrics: noop,
  getPerformanceSummary: noop,
  getBandwidthSavings: noop,
  getQualityDistribution: noop,
  listAlerts: noop,
  resolveAlert: noop,
}) as unknown as Handler;

function event(body: string): APIGatewayProxyEventV2 {
  const built = toApiGatewayEvent(
    {
      method: 'PUT',
      url: routes.putConfig.path,
      headers: {
        'content-type': 'application/json',
        origin: 'http://localhost:3000',
        'x-request-id': 'bench-request',
      },
      body: Buffer.from(body),
      sourceIp: '127.0.0.1',
    },
    { routeKey: routeKey(routes.putConfig) },
  );
  Object.assign(built.requestContext, {
    authorizer: { jwt: { claims: { sub: 'bench-user' }, scopes: [] } },
  });
  return built;
}

async function measure(
  handler: Handler,
  input: APIGatewayProxyEventV2,
  expectStatus: number,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    const started = performance.now();
    const result = await handler(input, lambdaContext('bench', 30_000));
    const took = performance.now() - started;
    if (result.statusCode !== expectStatus)
      throw new Error(`unexpected status ${result.statusCode}`);
    if (i >= WARMUP) samples.push(took);
  }
  return samples;
}

/** Runs the three cases, the output of their log lines and EMF documents discarded. */
async function measureCases() {
  const valid = event(JSON.stringify(DEFAULT_CONFIG));
  const invalid = event(JSON.stringify({ ...DEFAULT_CONFIG, mode: 'turbo' }));
  // Log lines and EMF blobs are formatted as in Lambda, then dropped instead of filling the terminal.
  const write = process.stdout.write.bind(process.stdout);
  let written = 0;
  process.stdout.write = (() => {
    written++;
    return true;
  }) as typeof process.stdout.write;
  try {
    return {
      baseline: summarise(await measure(bare, valid, 200)),
      chain: summarise(await measure(full, valid, 200)),
      rejected: summarise(await measure(full, invalid, 400)),
      written,
    };
  } finally {
    process.stdout.write = write;
  }
}

/** Runs the benchmark and writes docs/benchmarks/middleware.md; returns the overhead in ms. */
export async function runMiddlewareOverhead(): Promise<{ p50: number; p99: number }> {
  const run = startRun();
  const { baseline: b, chain: c, rejected: r, written } = await measureCases();
  const overhead = { p50: c.p50 - b.p50, p99: c.p99 - b.p99 };
  const row = (label: string, s: typeof b) => [label, ms(s.p50), ms(s.p95), ms(s.p99)];
  await writeBenchmarkPage(run, {
    name: 'middleware',
    title: 'Middleware chain',
    source: 'bench/middleware-overhead.ts',
    measures:
      'What the HTTP middleware chain every route runs costs per request, in process: request ID, CORS, security headers, error handler, route resolution, auth, body parsing with the byte cap, zod validation, access log, Powertools logger, EMF metrics and tracer, around a no-op route.',
    goals: [
      {
        goal: 'overhead of the chain over the bare handler, p99',
        measured: ms(overhead.p99),
        target: `<= ${GOAL_P99_MS} ms`,
        met: overhead.p99 <= GOAL_P99_MS,
      },
    ],
    baseline: `The same no-op route called bare, without the chain, in the same run: p50 ${ms(b.p50)}, p99 ${ms(b.p99)}. The chain adds ${ms(overhead.p50)} at p50 and ${ms(overhead.p99)} at p99 (${times(c.p50 / b.p50, 0)} the bare p50).`,
    results: [
      {
        heading: `Latency per call (${count(ITERATIONS)} calls per case after ${count(WARMUP)} warm-up)`,
        body: [
          ...markdownTable(
            ['case', 'p50', 'p95', 'p99'],
            [
              row('bare no-op handler (baseline)', b),
              row('full chain, valid `PUT /config`', c),
              row('full chain, invalid body (400)', r),
            ],
          ),
          '',
          `${count(written)} log lines and EMF documents were formatted during the run and discarded.`,
        ],
      },
    ],
    method:
      'Each case calls the handler sequentially, as one Lambda container does, with an API Gateway v2 event built by the local runtime and the claims of a verified token in the request context; the first calls of each case are a warm-up and are not counted. The chain is the production `createFunctionHandler` of the dashboard function with no-op routes, so what is timed is the chain alone. Log lines and EMF documents are formatted as on Lambda and then dropped instead of written. The rate limiter is exempted (`RATE_LIMIT_ROUTE_OVERRIDES`): it has its own benchmark, [limiter.md](limiter.md).',
  });
  return overhead;
}
