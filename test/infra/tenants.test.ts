import { beforeAll, describe, expect, it } from 'vitest';
import { ENVIRONMENTS_CONTEXT_KEY } from '../../lib/config/environment-config.ts';
import { cdkJsonContext, type Resources, type SynthesizedApp, synthAicApp } from './app-fixture.ts';

let synthesized: SynthesizedApp;
const RATE_LIMITS = { 'media-server-1': { compress: { user: { minute: 360_000 } } } };

/** Synthesizes the app with staging's tenants named by `client_id`, one with limits of its own. */
beforeAll(() => {
  const environments = structuredClone(cdkJsonContext()[ENVIRONMENTS_CONTEXT_KEY]) as Record<
    string,
    Record<string, unknown>
  >;
  (environments.staging as Record<string, unknown>).tenants = {
    claim: 'client_id',
    rateLimits: RATE_LIMITS,
  };
  synthesized = synthAicApp({ context: { [ENVIRONMENTS_CONTEXT_KEY]: environments } });
});

type Variables = Record<string, unknown>;

const functionEnvironments = (env: 'dev' | 'staging', stack: 'api' | 'metrics') =>
  Object.values(
    synthesized.templates[env][stack].findResources('AWS::Lambda::Function') as Resources,
  ).map(
    (fn) =>
      ((fn.Properties.Environment as { Variables?: Variables } | undefined)?.Variables ??
        {}) as Variables,
  );

const taskEnvironment = (env: 'dev' | 'staging'): Variables => {
  const [definition] = Object.values(
    synthesized.templates[env].grpc.findResources('AWS::ECS::TaskDefinition') as Resources,
  );
  const containers = (definition?.Properties.ContainerDefinitions ?? []) as {
    Environment: { Name: string; Value: unknown }[];
  }[];
  const [container] = containers;
  return Object.fromEntries((container?.Environment ?? []).map((e) => [e.Name, e.Value]));
};

describe('tenants', () => {
  it('are named by the configured claim in every function behind the API and in the gRPC task', () => {
    const compress = functionEnvironments('staging', 'api').filter(
      (variables) => variables.POWERTOOLS_SERVICE_NAME !== undefined,
    );
    expect(compress.length).toBeGreaterThan(3);
    for (const variables of compress) {
      expect(variables.AIC_TENANT_CLAIM).toBe('client_id');
      expect(JSON.parse(String(variables.TENANT_RATE_LIMITS))).toEqual(RATE_LIMITS);
    }
    expect(taskEnvironment('staging')).toMatchObject({ AIC_TENANT_CLAIM: 'client_id' });
  });

  it('are the token subject where the environment configures none (the settings default)', () => {
    for (const variables of functionEnvironments('dev', 'api')) {
      expect(variables.AIC_TENANT_CLAIM).toBeUndefined();
    }
    expect(taskEnvironment('dev').AIC_TENANT_CLAIM).toBeUndefined();
  });
});
