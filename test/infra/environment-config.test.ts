import { describe, expect, it } from 'vitest';
import {
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
});
