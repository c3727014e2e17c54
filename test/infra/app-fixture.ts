import { readFileSync } from 'node:fs';
import { App, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildAicApp } from '../../lib/aic-app.ts';
import type { AicStage } from '../../lib/aic-stage.ts';
import { ENVIRONMENT_NAMES, type EnvironmentName } from '../../lib/config/environment-config.ts';
import { repoPath } from '../../lib/paths.ts';

/** The `context` block of the real cdk.json: feature flags and `aic:environments`. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(repoPath('cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

/** Options of {@link synthAicApp}. */
export interface SynthOptions {
  /** Stack path patterns to bundle with esbuild; none by default (fast template tests). */
  readonly bundlingStacks?: readonly string[];
  /** Cloud assembly directory; a fresh temporary one by default. */
  readonly outdir?: string;
}

/** The synthesized app with one CloudFormation template per environment. */
export interface SynthesizedApp {
  readonly app: App;
  readonly stages: Record<EnvironmentName, AicStage>;
  readonly templates: Record<EnvironmentName, Template>;
}

/**
 * Builds the app exactly as bin/aic.ts does, with cdk.json's context, and synthesizes it. The
 * cdk-nag validation plugins run during synthesis and throw on any unacknowledged error.
 */
export function synthAicApp(options: SynthOptions = {}): SynthesizedApp {
  const app = new App({
    context: {
      ...cdkJsonContext(),
      'aws:cdk:bundling-stacks': [...(options.bundlingStacks ?? [])],
    },
    ...(options.outdir ? { outdir: options.outdir } : {}),
  });
  const stages = buildAicApp(app);
  app.synth();
  const templates = {} as Record<EnvironmentName, Template>;
  for (const name of ENVIRONMENT_NAMES) templates[name] = Template.fromStack(stages[name].api);
  return { app, stages, templates };
}

/** The CloudFormation logical id of an L1 resource. */
export function logicalId(resource: CfnResource): string {
  return resource.stack.getLogicalId(resource);
}
