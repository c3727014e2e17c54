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
import { ms, summarise } from './stats.ts';

const WARMUP = 2_000;
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20_000);

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

/** Runs the benchmark and prints its table; returns the p99 overhead in ms. */
export async function runMiddlewareOverhead(): Promise<{ p50: number; p99: number }> {
  const valid = event(JSON.stringify(DEFAULT_CONFIG));
  const invalid = event(JSON.stringify({ ...DEFAULT_CONFIG, mode: 'turbo' }));
  // Log lines and EMF blobs are formatted as in Lambda, then dropped instead of filling the terminal.
  const write = process.stdout.write.bind(process.stdout);
  let written = 0;
  process.stdout.write = (() => {
    written++;
    return true;
  }) as typeof process.stdout.write;
  let baseline: number[];
  let chain: number[];
  let rejected: number[];
  try {
    baseline = await measure(bare, valid, 200);
    chain = await measure(full, valid, 200);
    rejected = await measure(full, invalid, 400);
  } finally {
    process.stdout.write = write;
  }
  const b = summarise(baseline);
  const c = summarise(chain);
  const r = summarise(rejected);
  const overhead = { p50: c.p50 - b.p50, p99: c.p99 - b.p99 };
  console.log(
    `\nMiddleware chain overhead (${ITERATIONS} calls each, ${WARMUP} warm-up, in-process)`,
  );
  console.log('| case | p50 | p95 | p99 |');
  console.log('|---|---|---|---|');
  console.log(`| bare no-op handler (baseline) | ${ms(b.p50)} | ${ms(b.p95)} | ${ms(b.p99)} |`);
  console.log(`| full chain, valid PUT /config | ${ms(c.p50)} | ${ms(c.p95)} | ${ms(c.p99)} |`);
  console.log(`| full chain, invalid body (400) | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} |`);
  console.log(`(${written} log lines and EMF documents formatted during the run)`);
  console.log(
    `overhead vs baseline: p50 ${ms(overhead.p50)}, p99 ${ms(overhead.p99)} (goal p99 <= 2 ms: ${
      overhead.p99 <= 2 ? 'met' : 'NOT met'
    }); ratio of p50s ${(c.p50 / b.p50).toFixed(0)}x`,
  );
  return overhead;
}
