import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { z } from 'zod';
import {
  DEFAULT_ROUTE_KEY,
  DEFAULT_ROUTE_THROTTLE,
  FUNCTION_ENTRIES,
  type FunctionName,
  type RouteSpec,
  type RouteThrottle,
  routeKey,
  routeList,
  SCHEDULED_FUNCTIONS,
  type ScheduledFunctionName,
} from '../../functions/core/contracts/routes.ts';
import { tenantRateLimitsSchema } from '../../functions/core/rate-limit/policy.ts';
import { AUTHORIZER_FUNCTIONS, type AuthorizerFunctionName } from './authorizer-functions.ts';
import { DEPLOY_FUNCTION_CONCURRENCY, DEPLOY_FUNCTIONS } from './deploy-functions.ts';
import { STREAM_FUNCTIONS, type StreamFunctionName } from './stream-functions.ts';

/** The `cdk.json` context key that holds one configuration per environment. */
export const ENVIRONMENTS_CONTEXT_KEY = 'aic:environments';

/** Lambda memory per vCPU: a function gets one vCPU for each 1769 MiB it is given. */
export const MIB_PER_VCPU = 1769;

/**
 * `ENGINE_PARALLEL_ENCODES` for a process with `vcpus` whole vCPUs of CPU time: one encode per
 * vCPU, at least 1 and at most 2. Lambda functions and Fargate tasks see more cores than their CPU
 * time covers, so they are told rather than left to count.
 */
export function parallelEncodesEnvironment(vcpus: number): { ENGINE_PARALLEL_ENCODES: string } {
  return { ENGINE_PARALLEL_ENCODES: String(Math.max(1, Math.min(2, Math.floor(vcpus)))) };
}

/** The deployment environments; each becomes one CDK `Stage` of the same name. */
export const ENVIRONMENT_NAMES = ['dev', 'staging', 'prod'] as const;

/** One deployment environment. */
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

/** Hosts for which plain `http` is acceptable as a CORS origin (local front-end development). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Retention periods CloudWatch Logs accepts. `INFINITE` is left out on purpose: every log group
 * gets an explicit retention, so logs never accumulate unbounded cost.
 */
const RETENTION_DAYS = new Set(
  Object.values(RetentionDays).filter(
    (value): value is number => typeof value === 'number' && value !== RetentionDays.INFINITE,
  ),
);

/** True when `value` is exactly an origin (`scheme://host[:port]`), https unless on loopback. */
function isAllowedOrigin(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.origin !== value) return false;
  return (
    url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))
  );
}

const originSchema = z.string().refine(isAllowedOrigin, {
  message:
    'must be a bare origin such as "https://app.example.com" (no path, no trailing slash, no "*"; ' +
    'http only for localhost)',
});

/** True when `value` is an IPv4 CIDR block whose address has no bits beyond its prefix. */
function isIpv4Cidr(value: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!match) return false;
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((octet) => octet > 255) || prefix > 32) return false;
  const address = octets.reduce((sum, octet) => sum * 256 + octet, 0);
  return address % 2 ** (32 - prefix) === 0;
}

/** `[first, last]` addresses of an IPv4 CIDR block already checked by {@link isIpv4Cidr}. */
function cidrRange(cidr: string): [number, number] {
  const [address = '', prefix = '0'] = cidr.split('/');
  const first = address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
  return [first, first + 2 ** (32 - Number(prefix)) - 1];
}

/** An instance class such as `t4g.micro` or `r7g.large` (RDS and ElastiCache add their prefix). */
const instanceClassSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'must be an instance class such as "t4g.micro"');

/** A TCP port a managed service may listen on, other than the engine's well-known default. */
const nonDefaultPort = (engineDefault: number) =>
  z
    .int()
    .min(1150)
    .max(65_535)
    .refine((port) => port !== engineDefault, {
      message: `must not be the engine default ${engineDefault} (a default port is the first one scanned)`,
    });

/** Fargate's valid CPU units and, for each, the memory sizes (MiB) it accepts. */
const FARGATE_MEMORY_BY_CPU: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  2048: Array.from({ length: 13 }, (_, i) => 4096 + i * 1024),
  4096: Array.from({ length: 23 }, (_, i) => 8192 + i * 1024),
};

/** An ACM certificate ARN (the NLB's TLS listener). */
const certificateArnSchema = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/,
    'must be an ACM certificate ARN',
  );

/**
 * An AWS Backup vault ARN (`arn:aws:backup:<region>:<account>:backup-vault:<name>`). Its Region
 * cannot be compared with the environment's here, since the stages are environment-agnostic: a
 * vault in the environment's own Region would still take the copies, but survive no Regional
 * outage, so whoever sets it checks the Region.
 */
const backupVaultArnSchema = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:backup:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:backup-vault:[A-Za-z0-9_-]{2,50}$/,
    'must be an AWS Backup vault ARN such as "arn:aws:backup:eu-central-1:123456789012:backup-vault:name"',
  );

/**
 * Concurrent executions Lambda keeps unreserved in every account and region: reservations may not
 * take them, so functions without a reservation always have somewhere to run.
 */
export const UNRESERVED_CONCURRENCY_MINIMUM = 100;

/**
 * The functions whose reserved concurrency `cdk.json` sets: the API's, its authorizer, the
 * scheduled ones and the stream consumers (the deploy-time functions reserve
 * {@link DEPLOY_FUNCTION_CONCURRENCY} each, whatever the environment).
 */
export type ReservedFunctionName =
  | FunctionName
  | AuthorizerFunctionName
  | ScheduledFunctionName
  | StreamFunctionName;

/** Every {@link ReservedFunctionName}, from the registries that define the functions. */
export const RESERVED_FUNCTION_NAMES = [
  ...Object.keys(FUNCTION_ENTRIES),
  ...Object.keys(AUTHORIZER_FUNCTIONS),
  ...Object.keys(SCHEDULED_FUNCTIONS),
  ...Object.keys(STREAM_FUNCTIONS),
] as readonly ReservedFunctionName[];

/** One reserved concurrency per function, none missing and none unknown. */
const reservedConcurrencySchema = z.strictObject(
  Object.fromEntries(RESERVED_FUNCTION_NAMES.map((name) => [name, z.int().min(1).max(10_000)])),
) as unknown as z.ZodType<Record<ReservedFunctionName, number>>;

/** The windows AWS WAF's rate-based rules count over, in seconds. */
const WAF_WINDOWS_SECONDS = [60, 120, 300, 600] as const;

/** Schema of one environment's configuration as written in `cdk.json`. */
export const environmentSettingsSchema = z.strictObject({
  /** Origins allowed by the API's CORS preflight and by the handlers' CORS middleware. */
  corsAllowedOrigins: z.array(originSchema).min(1),
  /**
   * The token issuer the HTTP API's JWT authorizer and the gRPC service trust. Absent: the API
   * stack creates a Cognito user pool and app client and trusts those.
   */
  jwt: z
    .strictObject({
      /** Token issuer (`iss`); API Gateway fetches its OpenID configuration over https. */
      issuer: z.url({ protocol: /^https$/, message: 'must be an https URL' }),
      /** Accepted audiences (`aud`, or `client_id` of access tokens); at least one. */
      audience: z.array(z.string().min(1)).min(1),
      /** The issuer's signing keys (the gRPC service fetches them); default `<issuer>/.well-known/jwks.json`. */
      jwksUrl: z.url({ protocol: /^https$/, message: 'must be an https URL' }).optional(),
      /** The `token_use` a token must carry (Cognito: `access`); absent: not checked. */
      tokenUse: z.string().min(1).optional(),
      /** Scopes of which a token must hold one, on every route that needs a token and in gRPC. */
      scopes: z.array(z.string().min(1)).min(1).optional(),
    })
    .optional(),
  /**
   * Who a token's quotas, sessions and dashboards belong to (docs/design.md section 2.5): `claim`
   * names the tenant (`sub` when absent; e.g. `client_id` when the clients are media servers), and
   * `rateLimits` gives particular tenants limits of their own (`TENANT_RATE_LIMITS`).
   */
  tenants: z
    .strictObject({
      claim: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_:.-]{0,63}$/, 'must be a claim name')
        .optional(),
      rateLimits: tenantRateLimitsSchema.optional(),
    })
    .optional(),
  /** Retention of every log group of the environment, in days (a CloudWatch Logs value). */
  logRetentionDays: z.number().refine((days) => RETENTION_DAYS.has(days), {
    message: `must be one of ${[...RETENTION_DAYS].join(', ')}`,
  }),
  /** Powertools log level of the Lambda functions. */
  logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']),
  /** Stage-wide throttling of the HTTP API (bounded by API Gateway's account defaults). */
  throttling: z.strictObject({
    rateLimit: z.number().positive().max(10_000),
    burstLimit: z.int().positive().max(5_000),
  }),
  /**
   * AWS WAF in front of the API (on its CloudFront distribution): per client IP, the requests it
   * may send in a window before WAF blocks it until its rate falls back under the limit.
   */
  waf: z.strictObject({
    /** The window rates are counted over, in seconds (a value WAF accepts). */
    windowSeconds: z.union(WAF_WINDOWS_SECONDS.map((seconds) => z.literal(seconds))),
    /** Requests per IP and window to the whole API. */
    requestsPerIp: z.int().min(10).max(2_000_000_000),
    /** Requests per IP and window to the routes without a token (health, readiness, openapi). */
    publicRequestsPerIp: z.int().min(10).max(2_000_000_000),
  }),
  /** Lambda concurrency: what each function may use at most, and is guaranteed. */
  lambda: z.strictObject({
    /**
     * The account's concurrent executions quota in the region (Service Quotas, "Concurrent
     * executions"; 1000 unless raised). The reservations must leave 100 of it unreserved.
     */
    accountConcurrency: z.int().min(UNRESERVED_CONCURRENCY_MINIMUM).max(1_000_000),
    /** Reserved concurrency per function: its ceiling, and capacity no other function can take. */
    reservedConcurrency: reservedConcurrencySchema,
    /**
     * The compress function's memory, which sets its vCPUs (one per 1769 MiB) and its price per
     * millisecond: sized with `npm run bench:latency` (docs/benchmarks/latency.md) where the latency
     * budget is met at the lowest cost per frame. `reason` says why, beside the number.
     */
    compress: z.strictObject({
      memoryMiB: z.int().min(MIB_PER_VCPU).max(10_240),
      reason: z.string().min(40),
    }),
  }),
  /** Where alarm notifications go. */
  alarmEmail: z.email(),
  /** Keep log groups when the stack is deleted (true for environments whose history matters). */
  retainOnDelete: z.boolean(),
  /** The VPC. Environment-agnostic stacks span two Availability Zones (CDK's limit without a region). */
  network: z.strictObject({
    /** IPv4 block of the VPC, /16 to /22; environments must not overlap (so they can be peered). */
    vpcCidr: z.string().refine((cidr) => isIpv4Cidr(cidr) && /\/(1[6-9]|2[0-2])$/.test(cidr), {
      message: 'must be an IPv4 CIDR block from /16 to /22, such as "10.10.0.0/16"',
    }),
    /**
     * NAT gateways for outbound internet access from the application subnets; 0 keeps them
     * isolated, with AWS services reached through VPC endpoints only.
     */
    natGateways: z.int().min(0).max(2),
  }),
  /** RDS for PostgreSQL behind RDS Proxy. */
  database: z.strictObject({
    /** Instance class without the `db.` prefix. */
    instanceClass: instanceClassSchema,
    allocatedStorageGiB: z.int().min(20).max(65_536),
    /** Upper bound of storage autoscaling. */
    maxAllocatedStorageGiB: z.int().min(20).max(65_536),
    /** Port of the instance (RDS Proxy itself always listens on 5432). */
    port: nonDefaultPort(5432),
    multiAz: z.boolean(),
    deletionProtection: z.boolean(),
    /**
     * Days of point-in-time recovery: the retention of the AWS Backup plan's continuous backups,
     * which are the instance's automated backups under AWS Backup's management, so the instance
     * keeps the same value (two values would keep overwriting each other). More than one day, so
     * the continuous recovery point outlives the daily run of its rule; AWS Backup caps it at 35.
     */
    backupRetentionDays: z.int().min(2).max(35),
    /**
     * A copy of the daily backup to a vault in another Region (disaster recovery of a lost Region).
     * The copy is a snapshot: it restores to the time it was taken, not to any point in time.
     */
    backupCopy: z
      .strictObject({
        /** The destination vault, in another Region than the environment's; it must exist. */
        vaultArn: backupVaultArnSchema,
        /** Days the copies are kept (they are snapshots, so beyond the 35 days of PITR). */
        retentionDays: z.int().min(1).max(3650),
      })
      .optional(),
    /** Days between rotations of the credentials secret. */
    credentialsRotationDays: z.int().min(1).max(365),
  }),
  /** ElastiCache for Redis (a replication group with one shard). */
  cache: z.strictObject({
    /** Node type without the `cache.` prefix. */
    nodeType: instanceClassSchema,
    /** Read replicas of the primary (with automatic failover); at least 1 for Multi-AZ. */
    replicas: z.int().min(0).max(5),
    port: nonDefaultPort(6379),
    /** Multi-AZ with automatic failover to a replica in another Availability Zone. */
    multiAz: z.boolean(),
    /**
     * Days of daily snapshots: at least 15, the minimum NIST SP 800-53 (CP-9) asks as cdk-nag
     * checks it. The cache holds state the services can rebuild; the snapshots, cheap at its size,
     * let a lost cache come back warm.
     */
    snapshotRetentionDays: z.int().min(15).max(35),
  }),
  /** The gRPC service on Fargate behind a Network Load Balancer. */
  grpc: z.strictObject({
    /** Fargate CPU units of one task. */
    cpu: z.union([256, 512, 1024, 2048, 4096].map((units) => z.literal(units))),
    /** Memory of one task, MiB (a size Fargate accepts for the CPU). */
    memoryMiB: z.int(),
    desiredCount: z.int().min(1).max(20),
    /**
     * ACM certificate of the TLS listener on 443. Required in staging and prod; without it (dev)
     * the load balancer listens in plain TCP on the gRPC port instead.
     */
    certificateArn: certificateArnSchema.optional(),
  }),
  /**
   * The metrics stream: answered frames' events on Kinesis Data Streams, read by the metrics
   * consumer and archived by Firehose as Parquet in S3.
   */
  metrics: z.strictObject({
    /**
     * Capacity of the frame event stream. `provisioned` with a shard count is the cheapest for a
     * steady, known load (one shard takes 1000 records or 1 MB per second: about 33 live 30 fps
     * streams) and suits dev and staging; `onDemand` scales with the load without a plan, at a
     * higher price per hour and per GB, and suits prod. The consumer runs one batch per shard (times
     * `parallelizationFactor`) at a time, so shards also bound its concurrency.
     */
    stream: z.discriminatedUnion('mode', [
      z.strictObject({ mode: z.literal('provisioned'), shards: z.int().min(1).max(64) }),
      z.strictObject({ mode: z.literal('onDemand') }),
    ]),
    /**
     * Batches of one shard the consumer processes at once (the mapping's parallelization factor,
     * 1-10). Records of one session (the partition key) stay in order at any value.
     */
    parallelizationFactor: z.int().min(1).max(10),
    /** Days the Parquet archive keeps frame events in S3 (also the range Athena projects). */
    archiveRetentionDays: z.int().min(1).max(3650),
  }),
  /** Alarm thresholds. */
  alarms: z.strictObject({
    /** Share of API requests answered 5xx over 5 minutes, in percent. */
    http5xxRatePercent: z.number().positive().max(100),
    /** p95 of request latency over 5 minutes, in milliseconds. */
    latencyP95Ms: z.int().positive(),
    /** Requests rejected by the rate limiter within 5 minutes. */
    rateLimitRejectionsPer5Min: z.int().positive(),
    /** Age of the oldest frame event the metrics consumer has not processed yet, in seconds. */
    metricsIteratorAgeSeconds: z.int().min(60).max(86_400),
    /** Share of compressed frames sent as their original, over 15 minutes, in percent. */
    fallbackRatePercent: z.number().positive().max(100),
    /** Least share of compressed frames that fit their byte budget, over 15 minutes, in percent. */
    withinBudgetMinPercent: z.number().positive().max(100),
  }),
});

type Settings = z.infer<typeof environmentSettingsSchema>;

/** Rules that relate fields to each other; each names the field it blames. */
function checkEnvironment(settings: Settings, ctx: z.RefinementCtx): void {
  checkSizes(settings, ctx);
  checkRouteThrottles(settings, ctx);
  checkConcurrency(settings, ctx);
  if (settings.waf.publicRequestsPerIp > settings.waf.requestsPerIp) {
    ctx.addIssue({
      code: 'custom',
      path: ['waf', 'publicRequestsPerIp'],
      message: 'must be at most requestsPerIp (the routes without a token get the lower limit)',
    });
  }
}

/** The throttle of each route that has its own, by route key, `$default` included. */
export function routeThrottles(
  routes: readonly RouteSpec[] = routeList,
): ReadonlyMap<string, RouteThrottle> {
  const throttles = new Map<string, RouteThrottle>();
  for (const route of routes) {
    if (route.throttle) throttles.set(routeKey(route), route.throttle);
  }
  throttles.set(DEFAULT_ROUTE_KEY, DEFAULT_ROUTE_THROTTLE);
  return throttles;
}

/**
 * A route's own throttle exists to be lower than the stage's: one above it would let that route
 * alone take more than the whole API is meant to.
 */
function checkRouteThrottles({ throttling }: Settings, ctx: z.RefinementCtx): void {
  for (const [key, throttle] of routeThrottles()) {
    for (const limit of ['rateLimit', 'burstLimit'] as const) {
      if (throttle[limit] > throttling[limit]) {
        ctx.addIssue({
          code: 'custom',
          path: ['throttling', limit],
          message: `must be at least the route throttle of ${key} (${throttle[limit]})`,
        });
      }
    }
  }
}

/** What the deploy-time functions reserve together, in every environment. */
export const DEPLOY_RESERVED_CONCURRENCY =
  Object.keys(DEPLOY_FUNCTIONS).length * DEPLOY_FUNCTION_CONCURRENCY;

/**
 * The reservations (the configured ones and the deploy-time functions') must leave the account's
 * unreserved minimum free, and the stream consumer must be able to read every batch the stream
 * offers at once.
 */
function checkConcurrency({ lambda, metrics }: Settings, ctx: z.RefinementCtx): void {
  const configured = Object.values<number>(lambda.reservedConcurrency).reduce((a, b) => a + b, 0);
  const reserved = configured + DEPLOY_RESERVED_CONCURRENCY;
  const available = lambda.accountConcurrency - UNRESERVED_CONCURRENCY_MINIMUM;
  if (reserved > available) {
    ctx.addIssue({
      code: 'custom',
      path: ['lambda', 'reservedConcurrency'],
      message:
        `reserves ${reserved} in total (${DEPLOY_RESERVED_CONCURRENCY} of them for the ` +
        `deploy-time functions), more than the ${available} of accountConcurrency ` +
        `(${lambda.accountConcurrency}) left after the ${UNRESERVED_CONCURRENCY_MINIMUM} ` +
        'Lambda keeps unreserved',
    });
  }
  // The mapping runs one batch per shard and parallelization slot at once; a smaller reservation
  // would throttle some of them on every poll and let the iterator age grow. An on-demand stream's
  // shard count follows its load, so only a provisioned one can be checked here.
  if (metrics.stream.mode === 'provisioned') {
    const batches = metrics.stream.shards * metrics.parallelizationFactor;
    if (lambda.reservedConcurrency.metricsConsumer < batches) {
      ctx.addIssue({
        code: 'custom',
        path: ['lambda', 'reservedConcurrency', 'metricsConsumer'],
        message:
          `must be at least metrics.stream.shards x metrics.parallelizationFactor (${batches}), ` +
          'the batches the event source mapping runs at once',
      });
    }
  }
}

/** Storage, replicas and Fargate sizes that only make sense together. */
function checkSizes(settings: Settings, ctx: z.RefinementCtx): void {
  const { database, cache, grpc } = settings;
  if (database.maxAllocatedStorageGiB < database.allocatedStorageGiB) {
    ctx.addIssue({
      code: 'custom',
      path: ['database', 'maxAllocatedStorageGiB'],
      message: 'must be at least allocatedStorageGiB',
    });
  }
  if (cache.multiAz && cache.replicas < 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['cache', 'replicas'],
      message: 'must be at least 1 when cache.multiAz is true (failover needs a replica)',
    });
  }
  if (!FARGATE_MEMORY_BY_CPU[grpc.cpu]?.includes(grpc.memoryMiB)) {
    ctx.addIssue({
      code: 'custom',
      path: ['grpc', 'memoryMiB'],
      message: `must be one of ${FARGATE_MEMORY_BY_CPU[grpc.cpu]?.join(', ')} for ${grpc.cpu} CPU units`,
    });
  }
}

/** The settings `prod` may not relax: data that survives zone failures and accidental deletes. */
const PROD_REQUIREMENTS: readonly { path: readonly string[]; ok: (s: Settings) => boolean }[] = [
  { path: ['database', 'multiAz'], ok: (s) => s.database.multiAz },
  { path: ['database', 'deletionProtection'], ok: (s) => s.database.deletionProtection },
  { path: ['cache', 'multiAz'], ok: (s) => s.cache.multiAz },
  { path: ['retainOnDelete'], ok: (s) => s.retainOnDelete },
];

/** The whole `aic:environments` context value: exactly one entry per environment. */
export const environmentsSchema = z
  .strictObject({
    dev: environmentSettingsSchema.superRefine(checkEnvironment),
    staging: environmentSettingsSchema.superRefine(checkEnvironment),
    prod: environmentSettingsSchema.superRefine(checkEnvironment),
  })
  .superRefine((environments, ctx) => {
    for (const { path, ok } of PROD_REQUIREMENTS) {
      if (!ok(environments.prod)) {
        ctx.addIssue({ code: 'custom', path: ['prod', ...path], message: 'must be true in prod' });
      }
    }
    // Clients of staging and prod connect with TLS; only dev may fall back to plain TCP.
    for (const name of ['staging', 'prod'] as const) {
      if (!environments[name].grpc.certificateArn) {
        ctx.addIssue({
          code: 'custom',
          path: [name, 'grpc', 'certificateArn'],
          message: `is required in ${name} (the gRPC listener terminates TLS)`,
        });
      }
    }
    const names = Object.keys(environments) as (keyof typeof environments)[];
    for (const [i, a] of names.entries()) {
      for (const b of names.slice(i + 1)) {
        const [aFirst, aLast] = cidrRange(environments[a].network.vpcCidr);
        const [bFirst, bLast] = cidrRange(environments[b].network.vpcCidr);
        if (aFirst <= bLast && bFirst <= aLast) {
          ctx.addIssue({
            code: 'custom',
            path: [b, 'network', 'vpcCidr'],
            message: `overlaps ${a}.network.vpcCidr (environments must be peerable)`,
          });
        }
      }
    }
  });

/** One environment's validated configuration, tagged with its name. */
export type EnvironmentConfig = Readonly<z.infer<typeof environmentSettingsSchema>> & {
  readonly name: EnvironmentName;
};

/** Raised when the `aic:environments` context is missing or invalid. */
export class EnvironmentConfigError extends Error {
  override readonly name = 'EnvironmentConfigError';
}

/** One line per failing field, e.g. `aic:environments.prod.jwt.issuer: must be an https URL`. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = [ENVIRONMENTS_CONTEXT_KEY, ...issue.path.map(String)].join('.');
      return `  - ${field}: ${issue.message}`;
    })
    .join('\n');
}

/**
 * Validates the raw `aic:environments` value and returns one typed configuration per environment.
 * A JSON string is accepted too, because `cdk synth -c key=value` passes context as text.
 *
 * @throws EnvironmentConfigError naming every bad field.
 */
export function parseEnvironmentConfigs(raw: unknown): Record<EnvironmentName, EnvironmentConfig> {
  if (raw === undefined) {
    throw new EnvironmentConfigError(
      `Missing context "${ENVIRONMENTS_CONTEXT_KEY}": define it in cdk.json with one entry per ` +
        `environment (${ENVIRONMENT_NAMES.join(', ')}).`,
    );
  }
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new EnvironmentConfigError(`Context "${ENVIRONMENTS_CONTEXT_KEY}" is not valid JSON.`);
    }
  }
  const result = environmentsSchema.safeParse(value);
  if (!result.success) {
    throw new EnvironmentConfigError(
      `Invalid context "${ENVIRONMENTS_CONTEXT_KEY}" (cdk.json):\n${describeIssues(result.error)}`,
    );
  }
  const settings = result.data;
  return {
    dev: { ...settings.dev, name: 'dev' },
    staging: { ...settings.staging, name: 'staging' },
    prod: { ...settings.prod, name: 'prod' },
  };
}

/** Reads and validates the environment configurations from the app's context. */
export function loadEnvironmentConfigs(
  scope: Construct,
): Record<EnvironmentName, EnvironmentConfig> {
  return parseEnvironmentConfigs(scope.node.tryGetContext(ENVIRONMENTS_CONTEXT_KEY));
}

/**
 * The tenant settings of every function and task of `config` (`AIC_TENANT_CLAIM`,
 * `TENANT_RATE_LIMITS`); empty when the environment keeps the defaults.
 */
export function tenantEnvironment(config: EnvironmentConfig): Record<string, string> {
  const { tenants } = config;
  return {
    ...(tenants?.claim ? { AIC_TENANT_CLAIM: tenants.claim } : {}),
    ...(tenants?.rateLimits ? { TENANT_RATE_LIMITS: JSON.stringify(tenants.rateLimits) } : {}),
  };
}
