import { describe, expect, it } from 'vitest';
import {
  DEPLOY_RESERVED_CONCURRENCY,
  ENVIRONMENTS_CONTEXT_KEY,
  EnvironmentConfigError,
  parseEnvironmentConfigs,
} from '../../lib/config/environment-config.ts';
import { cdkJsonContext } from './app-fixture.ts';

type EnvironmentSettings = Record<string, unknown>;

/** A deep copy of cdk.json's environments, to break one field at a time. */
function environments(): Record<'dev' | 'staging' | 'prod', EnvironmentSettings> {
  return structuredClone(cdkJsonContext()[ENVIRONMENTS_CONTEXT_KEY]) as Record<
    'dev' | 'staging' | 'prod',
    EnvironmentSettings
  >;
}

function errorOf(raw: unknown): string {
  try {
    parseEnvironmentConfigs(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvironmentConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('the environment configuration', () => {
  it('accepts the cdk.json of the repository and names each environment', () => {
    const configs = parseEnvironmentConfigs(environments());
    expect(Object.keys(configs)).toEqual(['dev', 'staging', 'prod']);
    expect(configs.prod.name).toBe('prod');
  });

  it('explains a missing context', () => {
    expect(errorOf(undefined)).toMatch(/Missing context "aic:environments"/);
  });

  it('names a missing environment', () => {
    const raw = environments();
    Reflect.deleteProperty(raw, 'staging');
    expect(errorOf(raw)).toMatch(/aic:environments\.staging:/);
  });

  it('rejects a wildcard CORS origin and names the field', () => {
    const raw = environments();
    (raw.prod as { corsAllowedOrigins: string[] }).corsAllowedOrigins = ['*'];
    expect(errorOf(raw)).toMatch(
      /aic:environments\.prod\.corsAllowedOrigins\.0: must be a bare origin/,
    );
  });

  it('rejects origins with a path and plain http outside localhost', () => {
    const raw = environments();
    (raw.dev as { corsAllowedOrigins: string[] }).corsAllowedOrigins = [
      'https://app.example.com/',
      'http://app.example.com',
      'http://localhost:5173',
    ];
    const message = errorOf(raw);
    expect(message).toMatch(/corsAllowedOrigins\.0/);
    expect(message).toMatch(/corsAllowedOrigins\.1/);
    expect(message).not.toMatch(/corsAllowedOrigins\.2/);
  });

  it('requires an https JWT issuer', () => {
    const raw = environments();
    (raw.staging as { jwt: { issuer: string } }).jwt.issuer = 'http://issuer.example.com';
    expect(errorOf(raw)).toMatch(/aic:environments\.staging\.jwt\.issuer: must be an https URL/);
  });

  it('makes the JWT issuer optional (a Cognito user pool then) and its JWKS URL https', () => {
    const raw = environments();
    delete raw.dev.jwt;
    expect(parseEnvironmentConfigs(raw).dev.jwt).toBeUndefined();
    (raw.prod as { jwt: { jwksUrl: string } }).jwt.jwksUrl = 'http://keys.example.com/jwks.json';
    expect(errorOf(raw)).toMatch(/aic:environments\.prod\.jwt\.jwksUrl: must be an https URL/);
  });

  it('accepts only retention periods CloudWatch Logs knows, never infinite', () => {
    const raw = environments();
    raw.prod.logRetentionDays = 42;
    raw.dev.logRetentionDays = 9999;
    const message = errorOf(raw);
    expect(message).toMatch(/aic:environments\.prod\.logRetentionDays: must be one of/);
    expect(message).toMatch(/aic:environments\.dev\.logRetentionDays/);
  });

  it('rejects throttling beyond API Gateway limits and unknown fields', () => {
    const raw = environments();
    raw.prod.throttling = { rateLimit: 0, burstLimit: 10_000 };
    raw.dev.logRetention = 7;
    const message = errorOf(raw);
    expect(message).toMatch(/aic:environments\.prod\.throttling\.rateLimit/);
    expect(message).toMatch(/aic:environments\.prod\.throttling\.burstLimit/);
    expect(message).toMatch(/aic:environments\.dev: Unrecognized key: "logRetention"/);
  });

  it('reads the context from a JSON string as passed by cdk -c', () => {
    expect(parseEnvironmentConfigs(JSON.stringify(environments())).dev.name).toBe('dev');
    expect(errorOf('{not json')).toMatch(/not valid JSON/);
  });

  it('requires a gRPC certificate in staging and prod, and accepts dev without one', () => {
    const raw = environments();
    Reflect.deleteProperty(raw.prod.grpc as object, 'certificateArn');
    (raw.staging.grpc as { certificateArn: string }).certificateArn = 'not-an-arn';
    const message = errorOf(raw);
    expect(message).toMatch(/aic:environments\.prod\.grpc\.certificateArn: is required in prod/);
    expect(message).toMatch(/aic:environments\.staging\.grpc\.certificateArn: must be an ACM/);
    expect(parseEnvironmentConfigs(environments()).dev.grpc.certificateArn).toBeUndefined();
  });

  it('keeps prod Multi-AZ, deletion-protected and retained', () => {
    const raw = environments();
    Object.assign(raw.prod.database as object, { multiAz: false, deletionProtection: false });
    Object.assign(raw.prod.cache as object, { multiAz: false });
    raw.prod.retainOnDelete = false;
    const message = errorOf(raw);
    for (const field of [
      'database.multiAz',
      'database.deletionProtection',
      'cache.multiAz',
      'retainOnDelete',
    ]) {
      expect(message).toContain(`aic:environments.prod.${field}: must be true in prod`);
    }
  });

  it('rejects malformed and overlapping VPC CIDR blocks', () => {
    const raw = environments();
    (raw.dev.network as { vpcCidr: string }).vpcCidr = '10.10.0.1/16';
    (raw.prod.network as { vpcCidr: string }).vpcCidr = '10.20.128.0/17';
    const message = errorOf(raw);
    expect(message).toMatch(/aic:environments\.dev\.network\.vpcCidr: must be an IPv4 CIDR/);
    expect(message).toMatch(/aic:environments\.prod\.network\.vpcCidr: overlaps staging/);
  });

  it('rejects the engines default ports', () => {
    const raw = environments();
    (raw.dev.database as { port: number }).port = 5432;
    (raw.dev.cache as { port: number }).port = 6379;
    const message = errorOf(raw);
    expect(message).toMatch(/dev\.database\.port: must not be the engine default 5432/);
    expect(message).toMatch(/dev\.cache\.port: must not be the engine default 6379/);
  });

  it('keeps point-in-time recovery longer than a day, Redis snapshots 15 days, and a backup copy only to a vault ARN', () => {
    const raw = environments();
    (raw.dev.database as { backupRetentionDays: number }).backupRetentionDays = 1;
    (raw.staging.database as { backupRetentionDays: number }).backupRetentionDays = 36;
    (raw.staging.cache as { snapshotRetentionDays: number }).snapshotRetentionDays = 14;
    (raw.dev.database as { backupCopy: unknown }).backupCopy = {
      vaultArn: 'arn:aws:s3:::auralink-backups',
      retentionDays: 90,
    };
    (raw.prod.database as { backupCopy: { retentionDays: number } }).backupCopy.retentionDays = 0;
    const message = errorOf(raw);
    expect(message).toMatch(/dev\.database\.backupRetentionDays/);
    expect(message).toMatch(/staging\.database\.backupRetentionDays/);
    expect(message).toMatch(/staging\.cache\.snapshotRetentionDays/);
    expect(message).toMatch(/dev\.database\.backupCopy\.vaultArn: must be an AWS Backup vault ARN/);
    expect(message).toMatch(/prod\.database\.backupCopy\.retentionDays/);
    // The copy is optional: an environment without one is valid.
    const configs = parseEnvironmentConfigs(environments());
    expect(configs.dev.database.backupCopy).toBeUndefined();
    expect(configs.prod.database.backupCopy?.vaultArn).toMatch(/^arn:aws:backup:eu-central-1:/);
  });

  it('checks sizes against each other: Fargate memory, replicas for Multi-AZ, storage bounds', () => {
    const raw = environments();
    (raw.dev.grpc as { memoryMiB: number }).memoryMiB = 8192;
    Object.assign(raw.staging.cache as object, { multiAz: true, replicas: 0 });
    (raw.staging.database as { maxAllocatedStorageGiB: number }).maxAllocatedStorageGiB = 10;
    const message = errorOf(raw);
    expect(message).toMatch(/dev\.grpc\.memoryMiB: must be one of 512, 1024, 2048 for 256 CPU/);
    expect(message).toMatch(/staging\.cache\.replicas: must be at least 1 when cache\.multiAz/);
    expect(message).toMatch(/staging\.database\.maxAllocatedStorageGiB/);
  });

  it('refuses reservations that leave the account fewer than 100 unreserved executions', () => {
    const raw = environments();
    const lambda = raw.prod.lambda as {
      accountConcurrency: number;
      reservedConcurrency: Record<string, number>;
    };
    // The configured reservations and the deploy-time functions' one each.
    const reserved =
      Object.values(lambda.reservedConcurrency).reduce((a, b) => a + b, 0) +
      DEPLOY_RESERVED_CONCURRENCY;
    expect(DEPLOY_RESERVED_CONCURRENCY).toBe(2);
    // Exactly 100 left: accepted.
    lambda.accountConcurrency = reserved + 100;
    expect(parseEnvironmentConfigs(raw).prod.lambda.accountConcurrency).toBe(reserved + 100);
    // 99 left: refused, naming the total and what the account leaves.
    lambda.accountConcurrency = reserved + 99;
    expect(errorOf(raw)).toMatch(
      new RegExp(
        `aic:environments\\.prod\\.lambda\\.reservedConcurrency: reserves ${reserved} in total ` +
          `\\(2 of them for the deploy-time functions\\), more than the ${reserved - 1} of ` +
          'accountConcurrency',
      ),
    );
  });

  it('requires a reserved concurrency of at least 1 for every on-demand function, and no other', () => {
    const raw = environments();
    const reserved = (raw.dev.lambda as { reservedConcurrency: Record<string, number> })
      .reservedConcurrency;
    Reflect.deleteProperty(reserved, 'compress');
    reserved.health = 0;
    reserved.migrate = 1;
    const message = errorOf(raw);
    expect(message).toMatch(/dev\.lambda\.reservedConcurrency\.compress/);
    expect(message).toMatch(/dev\.lambda\.reservedConcurrency\.health/);
    expect(message).toMatch(/dev\.lambda\.reservedConcurrency: Unrecognized key: "migrate"/);
  });

  it('accepts only WAF windows and a public per-IP limit at most the overall one', () => {
    const raw = environments();
    Object.assign(raw.staging.waf as object, { windowSeconds: 30 });
    Object.assign(raw.prod.waf as object, { requestsPerIp: 500, publicRequestsPerIp: 600 });
    raw.dev.waf = { windowSeconds: 300, requestsPerIp: 5, publicRequestsPerIp: 5 };
    const message = errorOf(raw);
    expect(message).toMatch(/staging\.waf\.windowSeconds/);
    expect(message).toMatch(/prod\.waf\.publicRequestsPerIp: must be at most requestsPerIp/);
    expect(message).toMatch(/dev\.waf\.requestsPerIp/);
    expect(message).toMatch(/dev\.waf\.publicRequestsPerIp/);
  });

  it('refuses a stage throttle below a route throttle of the route table', () => {
    const raw = environments();
    raw.dev.throttling = { rateLimit: 8, burstLimit: 100 };
    expect(errorOf(raw)).toMatch(
      /dev\.throttling\.rateLimit: must be at least the route throttle of GET \/health \(20\)/,
    );
  });
});
