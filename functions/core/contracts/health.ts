import { z } from 'zod';

/** Body of `GET /health` and `GET /liveness`: the process is up; no dependency was touched. */
export const livenessResponseSchema = z.object({
  status: z.literal('ok'),
  service: z.string(),
  version: z.string(),
  uptime_s: z.number().nonnegative(),
});

/** Outcome of one readiness check. `degraded` means usable without it (e.g. Redis). */
export const checkResultSchema = z.object({
  status: z.enum(['pass', 'degraded', 'fail']),
  latency_ms: z.number().nonnegative(),
  detail: z.string().optional(),
});
export type CheckResult = z.infer<typeof checkResultSchema>;

/** Body of `GET /readiness`, 200 when `ready` or `degraded`, 503 when `not_ready`. */
export const readinessResponseSchema = z.object({
  status: z.enum(['ready', 'degraded', 'not_ready']),
  checks: z.object({
    initialisation: checkResultSchema,
    postgres: checkResultSchema,
    redis: checkResultSchema,
  }),
});
export type ReadinessResponse = z.infer<typeof readinessResponseSchema>;
