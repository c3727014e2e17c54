import { z } from 'zod';
import { DEFAULT_COST_PER_GB_USD } from '../core/contracts/dashboard.ts';
import { rateLimitOverridesSchema } from '../core/rate-limit/policy.ts';

const csv = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0),
);

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

// `z.coerce.boolean()` would read the text "false" as true: accept exactly "true" or "false".
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true');

/**
 * Every environment variable the service reads, with its default. The README's table is written
 * from this schema; keep them together.
 */
export const settingsSchema = z.object({
  /** Comma-separated origins allowed by CORS; no wildcard fallback for others. */
  CORS_ALLOWED_ORIGINS: csv.default(['http://localhost:3000']),
  /** Full Postgres URL. Unset on AWS, where DB_HOST + DB_IAM_AUTH (or DB_SECRET_ARN) are used. */
  DATABASE_URL: z.string().min(1).optional(),
  /** Secrets Manager ARN of the RDS credentials (username, password, host, port, dbname). */
  DB_SECRET_ARN: z.string().min(1).optional(),
  /** Database host that overrides the secret's (the RDS Proxy endpoint). */
  DB_HOST: z.string().min(1).optional(),
  DB_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  DB_NAME: z.string().min(1).optional(),
  /**
   * Authenticate to RDS Proxy with a fresh IAM auth token per connection instead of the secret's
   * password (docs/design.md section 6). Needs DB_HOST and DB_USER (or DB_SECRET_ARN for the username).
   */
  DB_IAM_AUTH: flag(false),
  /** Database user of IAM authentication; default the username in DB_SECRET_ARN's secret. */
  DB_USER: z.string().min(1).optional(),
  /** Connections per container: one Lambda runs one request at a time, RDS Proxy pools the rest. */
  DB_POOL_MAX: positiveInt(2),
  /**
   * Named prepared statements: each statement is planned once per connection instead of on every
   * execution. Never through RDS Proxy, where they pin the client to one backend connection; the
   * local runtime, which talks to Postgres directly, turns it on.
   */
  DB_PREPARE: flag(false),
  DB_CONNECT_TRIES: positiveInt(5),
  DB_CONNECT_BASE_DELAY_MS: positiveInt(1000),
  DB_CONNECT_MAX_DELAY_MS: positiveInt(30_000),
  /** Redis URL (`redis://` or `rediss://`). Unset: rate limiting runs in its degraded mode. */
  REDIS_URL: z.string().min(1).optional(),
  /** Secrets Manager ARN of the Redis AUTH token. */
  REDIS_AUTH_SECRET_ARN: z.string().min(1).optional(),
  REDIS_COMMAND_TIMEOUT_MS: positiveInt(50),
  REDIS_KEY_PREFIX: z.string().default('aic:'),
  BREAKER_FAILURE_THRESHOLD: positiveInt(5),
  BREAKER_OPEN_MS: positiveInt(60_000),
  BREAKER_HALF_OPEN_TRIALS: positiveInt(3),
  BREAKER_SUCCESS_THRESHOLD: positiveInt(2),
  /**
   * JSON of per-route rate-limit rules keyed by route id (`*`: the default rule), e.g.
   * `{"compress":{"user":{"minute":6000}}}`; see `core/rate-limit/policy.ts`. Unset: built-in rules.
   */
  RATE_LIMIT_ROUTE_OVERRIDES: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(rateLimitOverridesSchema)
    .optional(),
  /** Identities one container tracks in the in-memory limiter used while Redis is unavailable. */
  RATE_LIMIT_FALLBACK_MAX_IDENTITIES: positiveInt(10_000),
  /** Egress price per GB (10^9 bytes) behind the bandwidth-savings cost estimate. */
  DASHBOARD_COST_PER_GB_USD: z.coerce.number().nonnegative().default(DEFAULT_COST_PER_GB_USD),
  /** How far back the alert evaluator looks, in minutes. */
  ALERT_WINDOW_MINUTES: positiveInt(5),
  /** Fewer frames than this in the alert window raise no alert (too little evidence). */
  ALERT_MIN_FRAMES: positiveInt(20),
});

/** The service's parsed configuration. */
export type Settings = z.infer<typeof settingsSchema>;

/** Parses the environment; a bad value fails loudly at cold start, naming the variable. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new Error(`Invalid environment: ${problems.join('; ')}`);
  }
  return parsed.data;
}
