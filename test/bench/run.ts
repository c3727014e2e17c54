/** `npm run bench`: every benchmark, each against a baseline measured in the same run. */
import './env.ts';
import { runMiddlewareOverhead } from './middleware-overhead.ts';

await runMiddlewareOverhead();
