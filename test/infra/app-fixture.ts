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
  /** Context entries that replace cdk.json's (e.g. a changed `aic:environments`). */
  readonly context?: Record<string, unknown>;
}

/** The stacks of a stage, by their property name on {@link AicStage}. */
export const STACK_KEYS = [
  'network',
  'data',
  'edge',
  'metrics',
  'api',
  'grpc',
  'observability',
] as const;

/** One of the stacks of a stage. */
export type StackKey = (typeof STACK_KEYS)[number];

/** The synthesized app with one CloudFormation template per stack of each environment. */
export interface SynthesizedApp {
  readonly app: App;
  readonly stages: Record<EnvironmentName, AicStage>;
  readonly templates: Record<EnvironmentName, Record<StackKey, Template>>;
}

/**
 * Builds the app exactly as bin/aic.ts does, with cdk.json's context, and synthesizes it. The
 * cdk-nag validation plugins run during synthesis and throw on any unacknowledged error.
 */
export function synthAicApp(options: SynthOptions = {}): SynthesizedApp {
  const app = new App({
    context: {
      ...cdkJsonContext(),
      ...options.context,
      'aws:cdk:bundling-stacks': [...(options.bundlingStacks ?? [])],
    },
    ...(options.outdir ? { outdir: options.outdir } : {}),
  });
  const stages = buildAicApp(app);
  app.synth();
  const templates = {} as SynthesizedApp['templates'];
  for (const name of ENVIRONMENT_NAMES) {
    templates[name] = Object.fromEntries(
      STACK_KEYS.map((key) => [key, Template.fromStack(stages[name][key])]),
    ) as Record<StackKey, Template>;
  }
  return { app, stages, templates };
}

/** Resources of one type in a template, keyed by logical id. */
export type Resources = Record<
  string,
  { Properties: Record<string, unknown>; DeletionPolicy?: string; DependsOn?: string[] }
>;

/** The CloudFormation logical id of an L1 resource. */
export function logicalId(resource: CfnResource): string {
  return resource.stack.getLogicalId(resource);
}

/** One security group rule as CloudFormation holds it (inline or as its own resource). */
export interface SecurityGroupRule {
  readonly IpProtocol: string;
  readonly FromPort?: number;
  readonly ToPort?: number;
  readonly CidrIp?: string;
  readonly DestinationSecurityGroupId?: unknown;
  readonly SourceSecurityGroupId?: unknown;
}

/**
 * The TCP rules of a security group in one direction: its inline rules plus the separate
 * ingress/egress resources of `template` that name it (by `Fn::GetAtt`, or by an import of its
 * id from another stack).
 * CDK's "disallow all traffic" placeholder (ICMP) is left out.
 */
export function securityGroupRules(
  template: Template,
  groupLogicalId: string,
  direction: 'ingress' | 'egress',
): SecurityGroupRule[] {
  const groups = template.findResources('AWS::EC2::SecurityGroup') as Resources;
  const inline = (groups[groupLogicalId]?.Properties[
    direction === 'ingress' ? 'SecurityGroupIngress' : 'SecurityGroupEgress'
  ] ?? []) as SecurityGroupRule[];
  const separate = Object.values(
    template.findResources(
      direction === 'ingress' ? 'AWS::EC2::SecurityGroupIngress' : 'AWS::EC2::SecurityGroupEgress',
    ) as Resources,
  )
    .map((resource) => resource.Properties)
    .filter((properties) => JSON.stringify(properties.GroupId).includes(groupLogicalId))
    .map((properties) => properties as unknown as SecurityGroupRule);
  return [...inline, ...separate].filter((rule) => rule.IpProtocol === 'tcp');
}
