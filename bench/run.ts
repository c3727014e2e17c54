/**
 * `npm run bench`: the in-process benchmarks (the middleware chain, the quality kernels), each
 * against a baseline measured in the same run. Those that need Postgres, Redis or the local
 * runtime have their own scripts (`bench:limiter`, `bench:network`, `bench:compress`, `bench:grpc`,
 * `bench:dashboard`, `bench:bundles`).
 */
import './env.ts';
import { runMiddlewareOverhead } from './middleware-overhead.ts';
import { runQualityBench } from './quality.ts';

await runMiddlewareOverhead();
await runQualityBench();
