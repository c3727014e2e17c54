import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { z } from 'zod';

/** The `cdk.json` context key that holds one configuration per environment. */
export const ENVIRONMENTS_CONTEXT_KEY = 'aic:environments';

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

/** Schema of one environment's configuration as written in `cdk.json`. */
export const environmentSettingsSchema = z.strictObject({
  /** Origins allowed by the API's CORS preflight and by the handlers' CORS middleware. */
  corsAllowedOrigins: z.array(originSchema).min(1),
  /** The JWT authorizer's trust settings. */
  jwt: z.strictObject({
    /** Token issuer (`iss`); API Gateway fetches its OpenID configuration over https. */
    issuer: z.url({ protocol: /^https$/, message: 'must be an https URL' }),
    /** Accepted audiences (`aud`); at least one. */
    audience: z.array(z.string().min(1)).min(1),
  }),
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
  /** Where alarm notifications go. */
  alarmEmail: z.email(),
  /** Keep log groups when the stack is deleted (true for environments whose history matters). */
  retainOnDelete: z.boolean(),
});

/** The whole `aic:environments` context value: exactly one entry per environment. */
export const environmentsSchema = z.strictObject({
  dev: environmentSettingsSchema,
  staging: environmentSettingsSchema,
  prod: environmentSettingsSchema,
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
