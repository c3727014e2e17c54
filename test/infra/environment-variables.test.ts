import { describe, expect, it } from 'vitest';
import { settingsSchema } from '../../functions/platform/settings.ts';
import { synthAicApp } from './app-fixture.ts';

/**
 * Variables the deployment sets that the service does not read itself: Node's and glibc's process
 * flags and the Lambda exec wrapper's (layers/sharp/aic-node-flags).
 */
const PROCESS_VARIABLES = new Set([
  'NODE_OPTIONS',
  'AWS_LAMBDA_EXEC_WRAPPER',
  'AIC_NODE_FLAGS',
  'MALLOC_MMAP_THRESHOLD_',
]);

function variablesSetBy(template: { Resources?: Record<string, { Properties?: unknown }> }) {
  const names = new Set<string>();
  for (const resource of Object.values(template.Resources ?? {})) {
    const props = (resource.Properties ?? {}) as {
      Environment?: { Variables?: Record<string, unknown> };
      ContainerDefinitions?: { Environment?: { Name: string }[]; Secrets?: { Name: string }[] }[];
    };
    for (const name of Object.keys(props.Environment?.Variables ?? {})) names.add(name);
    for (const container of props.ContainerDefinitions ?? []) {
      for (const { Name } of [...(container.Environment ?? []), ...(container.Secrets ?? [])]) {
        names.add(Name);
      }
    }
  }
  return names;
}

describe('the environment of every function and task', () => {
  it('holds only variables of the settings schema, besides process flags', () => {
    const { templates } = synthAicApp();
    const known = new Set(Object.keys(settingsSchema.shape));
    const unknown: string[] = [];
    for (const [stage, stacks] of Object.entries(templates)) {
      for (const [stack, template] of Object.entries(stacks)) {
        for (const name of variablesSetBy(template.toJSON())) {
          if (!known.has(name) && !PROCESS_VARIABLES.has(name))
            unknown.push(`${stage}/${stack}: ${name}`);
        }
      }
    }
    expect(unknown).toEqual([]);
  });
});
