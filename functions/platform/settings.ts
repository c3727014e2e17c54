/**
 * The one settings schema: every environment variable the service, the gRPC task, the local
 * runtime and the CLIs read, with its default and its check (docs/design.md section 7). The
 * README's environment table lists exactly these variables (a test holds the two together), and
 * nothing else in `functions/` or `scripts/` reads `process.env` for its own configuration.
 * Variables the platform sets for itself (`AWS_*`, `NODE_OPTIONS`, the Lambda runtime's) are not
 * ours and are not listed.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { DEFAULT_COST_PER_GB_USD } from '../core/contracts/dashboard.ts';
import { rateLimitOverridesSchema, tenantRateLimitsSchema } from '../core/rate-limit/policy.ts';
import { DEFAULT_SESSIONS_PER_USER_PER_DAY } from './db/session-quota.ts';
import { DEFAULT_STATEMENT_TIMEOUT_MS } from './db/statement-timeout.ts';

const csv = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0),
);

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

// `z.coerce.boolean()` would read the text "false" as true: accept exactly "true" or "false".
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true');

const optionalFlag = z
  .enum(['true', 'false'])
  .transform((value) => value === 'true')
  .optional();

const jsonText = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
    return z.NEVER;
  }
});

/** Postgres: where it is and how the pool behaves (docs/design.md section 5). */
const databaseShape = {
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
   * password (docs/design.md section 6). Needs DB_HOST and DB_USER (or DB_SECRET_ARN for the
   * username).
   */
  DB_IAM_AUTH: flag(false),
  /**
   * Database user of IAM authentication; default the username in DB_SECRET_ARN's secret. On AWS
   * the services connect as `aic_app`, the migrations as `aic_migrator` (docs/design.md section 5.6).
   */
  DB_USER: z.string().min(1).optional(),
  /**
   * Secrets Manager ARNs of the `aic_app` and `aic_migrator` credentials: read only by the database
   * bootstrap step, which gives the two roles their logins (docs/design.md section 5.6).
   */
  DB_APP_SECRET_ARN: z.string().min(1).optional(),
  DB_MIGRATOR_SECRET_ARN: z.string().min(1).optional(),
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
  /**
   * The bound of every statement of the service, stored as the `statement_timeout` of the
   * services' role in the database: on AWS by the bootstrap step for `aic_app`, locally by the
   * migration runner for the URL's user (docs/design.md section 5.7); the migrations themselves
   * run without it.
   */
  DB_STATEMENT_TIMEOUT_MS: positiveInt(DEFAULT_STATEMENT_TIMEOUT_MS),
  /** New sessions one user may start per UTC day; a new one over it is `SESSION_QUOTA_EXCEEDED`. */
  SESSIONS_PER_USER_PER_DAY: positiveInt(DEFAULT_SESSIONS_PER_USER_PER_DAY),
};

/** Redis and the circuit breaker in front of it. */
const redisShape = {
  /** Redis URL (`redis://` or `rediss://`). Unset: rate limiting runs in its degraded mode. */
  REDIS_URL: z.string().min(1).optional(),
  /**
   * Secrets Manager ARN of the Redis password (an ACL user's, or the AUTH token); read again when
   * Redis refuses it, so a rotated password is picked up without a restart.
   */
  REDIS_AUTH_SECRET_ARN: z.string().min(1).optional(),
  /**
   * A file holding the Redis password (a mounted secret a rotating agent rewrites); read again
   * when Redis refuses it.
   */
  REDIS_PASSWORD_FILE: z.string().min(1).optional(),
  /** Redis ACL user; with REDIS_IAM_AUTH, the ElastiCache user ID. Default: the URL's user. */
  REDIS_USER: z.string().min(1).optional(),
  /**
   * Authenticate to ElastiCache with short-lived IAM tokens signed for REDIS_USER and
   * REDIS_CACHE_NAME (docs/design.md section 6): no static Redis secret at all.
   */
  REDIS_IAM_AUTH: flag(false),
  /** The ElastiCache replication group ID the IAM tokens are signed for. */
  REDIS_CACHE_NAME: z.string().min(1).optional(),
  REDIS_COMMAND_TIMEOUT_MS: positiveInt(50),
  REDIS_KEY_PREFIX: z.string().default('aic:'),
  BREAKER_FAILURE_THRESHOLD: positiveInt(5),
  BREAKER_OPEN_MS: positiveInt(60_000),
  BREAKER_HALF_OPEN_TRIALS: positiveInt(3),
  BREAKER_SUCCESS_THRESHOLD: positiveInt(2),
  /**
   * How long the answer of a named frame or network update stays in Redis for its repeats
   * (docs/design.md section 2.3); a repeat after it is worked again, and still counted once.
   */
  IDEMPOTENCY_WINDOW_S: positiveInt(600),
  /**
   * The largest answer kept for repeats (its JSON): a larger one, such as a fallback that sends a
   * big original, is not kept, so that no multi-megabyte write can run past the Redis command
   * timeout and count towards opening the breaker. Its repeats are worked again and still counted
   * once in Postgres.
   */
  IDEMPOTENCY_MAX_ANSWER_BYTES: positiveInt(1024 * 1024),
};

/** The HTTP edge: CORS, rate limits, and what the dashboard and alerts compute with. */
const apiShape = {
  /** Comma-separated origins allowed by CORS; no wildcard fallback for others. */
  CORS_ALLOWED_ORIGINS: csv.default(['http://localhost:3000']),
  /**
   * JSON of per-route rate-limit rules keyed by route id (`*`: the default rule), e.g.
   * `{"compress":{"user":{"minute":6000}}}`; see `core/rate-limit/policy.ts`. Unset: built-in rules.
   */
  RATE_LIMIT_ROUTE_OVERRIDES: jsonText.pipe(rateLimitOverridesSchema).optional(),
  /**
   * JSON of rate-limit rules of particular tenants, keyed by tenant, each in the form of
   * RATE_LIMIT_ROUTE_OVERRIDES and merged over it, e.g.
   * `{"media-server-1":{"compress":{"user":{"minute":360000}}}}`.
   */
  TENANT_RATE_LIMITS: jsonText.pipe(tenantRateLimitsSchema).optional(),
  /** Identities one container tracks in the in-memory limiter used while Redis is unavailable. */
  RATE_LIMIT_FALLBACK_MAX_IDENTITIES: positiveInt(10_000),
  /** Egress price per GB (10^9 bytes) behind the bandwidth-savings cost estimate. */
  DASHBOARD_COST_PER_GB_USD: z.coerce.number().nonnegative().default(DEFAULT_COST_PER_GB_USD),
  /** How far back the alert evaluator looks, in minutes. */
  ALERT_WINDOW_MINUTES: positiveInt(5),
  /** Fewer frames than this in the alert window raise no alert (too little evidence). */
  ALERT_MIN_FRAMES: positiveInt(20),
  /** The service version reported by the health checks; a deployment sets it. */
  AIC_VERSION: z.string().min(1).default('0.1.0'),
  /**
   * How long a container serves its last readiness answer before probing Postgres and Redis again
   * (a `not_ready` answer: at most 1 s); `0` probes on every request (concurrent ones share one).
   */
  READINESS_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5000),
  /**
   * Secrets Manager ARN of the value CloudFront sends in `x-aic-origin-verify`: read by the origin
   * authorizer on AWS only; unset, it admits no request.
   */
  ORIGIN_VERIFY_SECRET_ARN: z.string().min(1).optional(),
};

/**
 * Bearer tokens where no API Gateway authorizer checks them (the gRPC task, the local runtime):
 * read into a `JwtSettings` by `jwtSettings` in `jwt.ts`.
 */
const jwtShape = {
  /** HS256 signing key of the local runtime, `npm run token` and tests; never used on AWS. */
  AIC_JWT_SECRET: z.string().min(1).optional(),
  /** Required `iss`. */
  AIC_JWT_ISSUER: z.string().min(1).default('auralink-aic-local'),
  /** Accepted audiences: a token's `aud` or `client_id` must be one (as API Gateway checks). */
  AIC_JWT_AUDIENCE: csv.default(['auralink-aic']),
  /** The issuer's keys: when set, RS256/ES256 tokens are verified against it instead of HS256. */
  AIC_JWT_JWKS_URL: z.string().min(1).optional(),
  /** `jwks` or `hs256`; default `jwks` when AIC_JWT_JWKS_URL is set. */
  AIC_JWT_VERIFY: z.enum(['jwks', 'hs256']).optional(),
  /**
   * Where the process runs: `aws` (set by the CDK on every function and task) refuses the HS256
   * development key and any `http://` JWKS URL at start, naming the setting; `local` allows them.
   */
  AIC_DEPLOYMENT: z.enum(['local', 'aws']).default('local'),
  /** The `token_use` a token must carry (`access` for Cognito); unset: not checked. */
  AIC_JWT_TOKEN_USE: z.string().min(1).optional(),
  /** Comma-separated scopes; a token's `scope` (or `scp`) must hold one of them. Unset: not checked. */
  AIC_JWT_SCOPES: csv.optional(),
  /**
   * The token claim that names the tenant, to whom quotas, sessions, dashboards and alerts belong:
   * `sub` (each end user) or, for media servers, e.g. Cognito's `client_id`. Read by every process,
   * the Lambdas behind API Gateway's authorizer included.
   */
  AIC_TENANT_CLAIM: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_:.-]{0,63}$/, 'must be a claim name')
    .default('sub'),
};

/** The gRPC service (the Fargate task, and `npm start`). */
const grpcShape = {
  /** Port of the gRPC service (`0` picks a free one). */
  GRPC_PORT: port(50051),
  /** Address the Fargate task's gRPC and metrics servers bind. */
  GRPC_HOST: z.string().min(1).default('0.0.0.0'),
  /** Port of `/metrics` (Prometheus), `/health` and `/readiness` on the Fargate task. */
  METRICS_PORT: port(9464),
  /** How long a SIGTERM drain waits for in-flight calls before cancelling them (ECS waits 30 s). */
  GRPC_DRAIN_TIMEOUT_MS: positiveInt(20_000),
  /** How often readiness is re-checked for the health service. */
  GRPC_HEALTH_INTERVAL_MS: positiveInt(5_000),
  // The limits of the gRPC edge against hostile clients (docs/design.md section 3, Limits).
  /** HTTP/2 streams (calls) open at once on one connection. */
  GRPC_MAX_CONCURRENT_STREAMS: positiveInt(32),
  /** Memory one HTTP/2 connection may hold, in MB; past it, new streams on it are refused. */
  GRPC_MAX_SESSION_MEMORY_MB: positiveInt(32),
  /** A connection is asked to go away (GOAWAY) after this long, however busy. */
  GRPC_MAX_CONNECTION_AGE_MS: positiveInt(30 * 60_000),
  /** How long calls may still run on a connection told to go away before it is closed. */
  GRPC_MAX_CONNECTION_AGE_GRACE_MS: positiveInt(5 * 60_000),
  /** A connection without a call for this long is closed. */
  GRPC_MAX_CONNECTION_IDLE_MS: positiveInt(10 * 60_000),
  /** The server pings a connection after this long without activity... */
  GRPC_KEEPALIVE_TIME_MS: positiveInt(60_000),
  /** ...and closes it when the ping is not answered within this. */
  GRPC_KEEPALIVE_TIMEOUT_MS: positiveInt(20_000),
  /** Health `Watch` calls open at once on one connection. */
  GRPC_MAX_HEALTH_WATCHES_PER_CONNECTION: positiveInt(4),
  /** Calls of one user in flight at once (unary calls and streams, over every connection). */
  GRPC_MAX_CALLS_PER_USER: positiveInt(8),
  /** Frames of one user in the work at once (decode to store, over every call). */
  GRPC_MAX_FRAMES_PER_USER: positiveInt(4),
  /** Decoded pixels of every frame in the work in the process together: four 3840x2160 frames. */
  GRPC_MAX_PIXELS_IN_FLIGHT: positiveInt(4 * 3840 * 2160),
  /**
   * Decoded pixels of one user's frames in the work together: two 3840x2160 frames, what one
   * stream holds in the work at once (a frame whose header cannot be read weighs as much as a 4K
   * one), and half of the process's, so that one user cannot take the whole capacity.
   */
  GRPC_MAX_PIXELS_PER_USER: positiveInt(2 * 3840 * 2160),
  /** Sessions whose engine model one stream keeps in memory (least recently used dropped first). */
  GRPC_STREAM_MAX_SESSIONS: z.coerce.number().int().min(2).default(16),
  /** Where the `.proto` files are; unset: `proto/` of the repository (the container sets it). */
  AIC_PROTO_DIR: z.string().min(1).optional(),
};

/** The local runtime (`npm start`) and the command-line tools. */
const localShape = {
  /** HTTP port of the local runtime (`0` picks a free one). */
  PORT: port(3000),
  /** Address the local runtime listens on. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Where embedded Postgres keeps its data; unset: `.aic-local/` of the repository. */
  AIC_LOCAL_STATE_DIR: z.string().min(1).optional(),
  /** `npm run grpc:send`: the server's address; unset: `127.0.0.1:<GRPC_PORT>`. */
  AIC_GRPC_ADDRESS: z.string().min(1).optional(),
  /** `npm run grpc:send`: the bearer token; unset: a development token is signed. */
  AIC_TOKEN: z.string().min(1).optional(),
};

const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
const logLevel = z
  .string()
  .transform((value) => value.toUpperCase())
  .pipe(z.enum(LOG_LEVELS))
  .optional();

/**
 * Powertools' own variables: Powertools reads them itself; they are checked here so that a bad
 * value fails at start, naming the variable, instead of being ignored.
 */
const observabilityShape = {
  /** Log level; the deployment sets `LOG_LEVEL`, which Powertools reads when this is unset. */
  POWERTOOLS_LOG_LEVEL: logLevel,
  /** Log level as the deployment sets it (Powertools' fallback for POWERTOOLS_LOG_LEVEL). */
  LOG_LEVEL: logLevel,
  /** Share of requests logged at DEBUG whatever the level. */
  POWERTOOLS_LOGGER_SAMPLE_RATE: z.coerce.number().min(0).max(1).optional(),
  /** `true`: no EMF metrics are written. */
  POWERTOOLS_METRICS_DISABLED: optionalFlag,
  /** Service name in logs, metrics and traces; unset: `auralink-aic`. */
  POWERTOOLS_SERVICE_NAME: z.string().min(1).optional(),
  /** CloudWatch namespace of the EMF metrics; unset: `AuraLink/AIC`. */
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).optional(),
  /** `false` turns X-Ray tracing off (the gRPC task, which has no X-Ray daemon). */
  POWERTOOLS_TRACE_ENABLED: optionalFlag,
  /** `true` pretty-prints logs and disables metrics (development). */
  POWERTOOLS_DEV: optionalFlag,
};

/** The metrics stream: where answered frames' events go and how they are read (design 5.4). */
const metricsShape = {
  /**
   * Where frame events are appended: `kinesis` (METRICS_STREAM_NAME), `redis` (a stream on
   * REDIS_URL), `postgres` (written at once, one statement per batch, no stream). `auto`: the
   * first of these that is configured.
   */
  METRICS_LOG: z.enum(['auto', 'kinesis', 'redis', 'postgres']).default('auto'),
  /** Name of the Kinesis data stream of frame events. */
  METRICS_STREAM_NAME: z.string().min(1).optional(),
  /** Key of the Redis stream of frame events (after REDIS_KEY_PREFIX). */
  METRICS_REDIS_STREAM: z.string().min(1).default('metrics:frames'),
  /**
   * How long a producer waits for more events before one append (ms): the gRPC task batches the
   * frames of all its streams; 0 appends on the next turn of the event loop.
   */
  METRICS_BATCH_LINGER_MS: z.coerce.number().int().min(0).max(1000).default(0),
  /**
   * Most events one append carries (a Kinesis put takes 500 at most: a larger append is sent as
   * several), and most records one local consumer batch applies.
   */
  METRICS_BATCH_MAX_EVENTS: z.coerce.number().int().min(1).max(10_000).default(1000),
  /**
   * Deadline of one append to the Redis stream (ms), on a connection and breaker of its own; an
   * append past it goes to Postgres instead.
   */
  METRICS_APPEND_TIMEOUT_MS: positiveInt(500),
  /** Hours per-frame rows stay in Postgres for the recent-frames list and the window edges. */
  FRAME_ROWS_RETENTION_HOURS: z.coerce.number().int().min(25).default(48),
};

/** The compression engine, wherever it runs. */
const engineShape = {
  /**
   * Encodes one frame may run at once: from 2, an encode the engine is unsure of gets a second
   * candidate encoded beside it (docs/design.md section 4.6). Unset: the cores the process sees, at
   * most 2 (a Lambda function sees its vCPUs; a Fargate task is given its share explicitly).
   */
  ENGINE_PARALLEL_ENCODES: z.coerce
    .number()
    .int()
    .min(1)
    .max(4)
    .default(() => Math.min(2, availableParallelism())),
};

/** Every environment variable of AuraLink AIC, grouped by what reads it. */
export const settingsSchema = z.object({
  ...databaseShape,
  ...redisShape,
  ...apiShape,
  ...metricsShape,
  ...jwtShape,
  ...grpcShape,
  ...localShape,
  ...observabilityShape,
  ...engineShape,
});

/** The parsed configuration. */
export type Settings = z.infer<typeof settingsSchema>;

/**
 * Parses the environment; a bad value fails loudly at start, naming the variable. An empty value
 * counts as unset (`DATABASE_URL= npm run alerts`), as shells and container definitions mean it.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = settingsSchema.safeParse(set);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new Error(`Invalid environment: ${problems.join('; ')}`);
  }
  return parsed.data;
}
