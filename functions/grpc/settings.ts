import { z } from 'zod';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

/**
 * The gRPC task's own environment variables (the rest, database, Redis, JWT and rate limits, are
 * the Lambdas' settings, read by the shared runtime).
 */
export const grpcSettingsSchema = z.object({
  /** Port of the gRPC service. */
  GRPC_PORT: port(50051),
  /** Address the gRPC and metrics servers bind. */
  GRPC_HOST: z.string().min(1).default('0.0.0.0'),
  /** Port of `/metrics` (Prometheus) and `/health` (the container health check). */
  METRICS_PORT: port(9464),
  /** How long a SIGTERM drain waits for in-flight calls before cancelling them (ECS waits 30 s). */
  GRPC_DRAIN_TIMEOUT_MS: z.coerce.number().int().positive().default(20_000),
  /** How often readiness is re-checked for the health service. */
  GRPC_HEALTH_INTERVAL_MS: z.coerce.number().int().positive().default(5_000),
});

/** The parsed gRPC settings. */
export type GrpcSettings = z.infer<typeof grpcSettingsSchema>;

/** Parses the environment; a bad value fails at start, naming the variable. */
export function loadGrpcSettings(env: NodeJS.ProcessEnv = process.env): GrpcSettings {
  const parsed = grpcSettingsSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid environment: ${problems.join('; ')}`);
  }
  return parsed.data;
}
