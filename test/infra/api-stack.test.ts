import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnResource, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { CfnRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { CachePolicy, OriginRequestPolicy } from 'aws-cdk-lib/aws-cloudfront';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { AwsCustomResource } from 'aws-cdk-lib/custom-resources';
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS } from '../../functions/core/contracts/cors.ts';
import { ORIGIN_VERIFY_HEADER } from '../../functions/core/contracts/origin.ts';
import {
  DEFAULT_ROUTE_FUNCTION,
  DEFAULT_ROUTE_KEY,
  FUNCTION_ENTRIES,
  type FunctionName,
  routeKey,
  routeList,
  SCHEDULED_FUNCTIONS,
  type ScheduledFunctionName,
} from '../../functions/core/contracts/routes.ts';
import { MIGRATIONS } from '../../functions/platform/db/migrations/index.ts';
import { buildAicApp } from '../../lib/aic-app.ts';
import { DEPLOY_FUNCTION_CONCURRENCY } from '../../lib/config/deploy-functions.ts';
import {
  DEPLOY_RESERVED_CONCURRENCY,
  ENVIRONMENT_NAMES,
  type EnvironmentName,
  loadEnvironmentConfigs,
  RESERVED_FUNCTION_NAMES,
  routeThrottles,
  UNRESERVED_CONCURRENCY_MINIMUM,
} from '../../lib/config/environment-config.ts';
import { FUNCTION_SIZING } from '../../lib/config/function-sizing.ts';
import {
  NODE_FLAGS_WRAPPER,
  NODE_HEAP_FLAGS,
  PIXEL_PROCESS_ENV,
} from '../../lib/config/node-flags.ts';
import { memoryOf } from '../../lib/constructs/aic-function.ts';
import { ORIGIN_AUTHORIZER_CACHE } from '../../lib/constructs/route-table-api.ts';
import { repoPath } from '../../lib/paths.ts';
import { EDGE_REGION, webAclArnParameterName } from '../../lib/stacks/edge-stack.ts';
import {
  cdkJsonContext,
  logicalId,
  type Resources,
  type SynthesizedApp,
  securityGroupRules,
  synthAicApp,
} from './app-fixture.ts';

const FUNCTION_NAMES = Object.keys(FUNCTION_ENTRIES) as FunctionName[];
const SCHEDULED_NAMES = Object.keys(SCHEDULED_FUNCTIONS) as ScheduledFunctionName[];
/** The Lambda functions of the stack that use the data: the API's and the scheduled ones. */
const ALL_FUNCTION_NAMES = [...FUNCTION_NAMES, ...SCHEDULED_NAMES];
/** Every function built by AicFunction: those above and the origin authorizer. */
const AIC_FUNCTION_NAMES = [...ALL_FUNCTION_NAMES, 'originAuthorizer'] as const;
type StackFunctionName = (typeof AIC_FUNCTION_NAMES)[number];

let synthesized: SynthesizedApp;

beforeAll(() => {
  synthesized = synthAicApp();
});

/** The logical id of the Lambda function behind each API Gateway route key of a stage. */
function functionByRouteKey(env: EnvironmentName): Map<string, string> {
  const template = synthesized.templates[env].api;
  const routes = template.findResources('AWS::ApiGatewayV2::Route') as Resources;
  const integrations = template.findResources('AWS::ApiGatewayV2::Integration') as Resources;
  const result = new Map<string, string>();
  for (const route of Object.values(routes)) {
    const target = route.Properties.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
    const integration = integrations[target['Fn::Join'][1][1].Ref];
    const uri = integration?.Properties.IntegrationUri as { 'Fn::GetAtt': [string, string] };
    result.set(route.Properties.RouteKey as string, uri['Fn::GetAtt'][0]);
  }
  return result;
}

function functionLogicalId(env: EnvironmentName, name: StackFunctionName): string {
  const { api } = synthesized.stages[env];
  const fn =
    name === 'originAuthorizer'
      ? api.originAuthorizer.function
      : name in SCHEDULED_FUNCTIONS
        ? api.scheduled[name as ScheduledFunctionName].fn.function
        : api.functions[name as FunctionName].function;
  return logicalId(fn.node.defaultChild as CfnResource);
}

/** The function AwsCustomResource runs to read the web ACL's ARN (one per stack). */
function readerProviderLogicalId(env: EnvironmentName): string {
  const functions = synthesized.templates[env].api.findResources(
    'AWS::Lambda::Function',
  ) as Resources;
  const ids = Object.keys(functions).filter((id) =>
    id.startsWith(`AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`),
  );
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}

/** The statements of the managed policy of a role of the stack (`<role>/Policy`). */
function roleStatements(
  env: EnvironmentName,
  role: IRole | undefined,
): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  const policies = synthesized.templates[env].api.findResources(
    'AWS::IAM::ManagedPolicy',
  ) as Resources;
  const policyId = logicalId(role?.node.findChild('Policy').node.defaultChild as CfnResource);
  const document = policies[policyId]?.Properties.PolicyDocument as {
    Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[];
  };
  return document.Statement;
}

/** The logical id of a scheduled function's dead-letter queue. */
function deadLetterQueueId(env: EnvironmentName, name: ScheduledFunctionName): string {
  const queue = synthesized.stages[env].api.scheduled[name].fn.deadLetterQueue;
  expect(queue, name).toBeDefined();
  return logicalId(queue?.node.defaultChild as CfnResource);
}

function functionProperties(
  env: EnvironmentName,
  name: StackFunctionName,
): Record<string, unknown> {
  const functions = synthesized.templates[env].api.findResources(
    'AWS::Lambda::Function',
  ) as Resources;
  return functions[functionLogicalId(env, name)]?.Properties ?? {};
}

describe('the API stack', () => {
  it('has an API Gateway route for every route of the route table, on its function', () => {
    const byKey = functionByRouteKey('dev');
    for (const route of routeList) {
      expect(byKey.get(routeKey(route)), routeKey(route)).toBe(
        functionLogicalId('dev', route.function),
      );
    }
  });

  it('has exactly the route table routes plus $default, and nothing else', () => {
    const keys = [...functionByRouteKey('dev').keys()].sort();
    expect(keys).toEqual([...routeList.map(routeKey), DEFAULT_ROUTE_KEY].sort());
  });

  it('puts the JWT authorizer on a route exactly when the route table says auth, the origin authorizer on the others', () => {
    const template = synthesized.templates.dev.api;
    const authorizers = template.findResources('AWS::ApiGatewayV2::Authorizer') as Resources;
    expect(Object.keys(authorizers)).toHaveLength(2);
    const idOf = (type: string) =>
      Object.entries(authorizers).find(([, a]) => a.Properties.AuthorizerType === type)?.[0];
    const jwtId = idOf('JWT');
    const originId = idOf('REQUEST');
    for (const route of routeList) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey(route),
        AuthorizationType: route.auth ? 'JWT' : 'CUSTOM',
        AuthorizerId: { Ref: route.auth ? jwtId : originId },
      });
    }
  });

  it('admits a request to the routes without a token only with the origin header CloudFront sends', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const template = synthesized.templates[env].api;
      template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'REQUEST',
        AuthorizerPayloadFormatVersion: '2.0',
        EnableSimpleResponses: true,
        IdentitySource: [`$request.header.${ORIGIN_VERIFY_HEADER}`],
        AuthorizerResultTtlInSeconds: ORIGIN_AUTHORIZER_CACHE.toSeconds(),
        AuthorizerUri: {
          'Fn::Join': [
            '',
            Match.arrayWith([
              { 'Fn::GetAtt': [functionLogicalId(env, 'originAuthorizer'), 'Arn'] },
            ]),
          ],
        },
      });
      const distribution = Object.values(
        template.findResources('AWS::CloudFront::Distribution') as Resources,
      )[0] as Resources[string];
      const config = distribution.Properties.DistributionConfig as {
        Origins: { OriginCustomHeaders: { HeaderName: string; HeaderValue: unknown }[] }[];
      };
      const secret = logicalId(
        synthesized.stages[env].api.distribution.originSecret.node.defaultChild as CfnResource,
      );
      expect(config.Origins).toHaveLength(1);
      expect(config.Origins[0]?.OriginCustomHeaders).toEqual([
        {
          HeaderName: ORIGIN_VERIFY_HEADER,
          HeaderValue: {
            'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secret }, ':SecretString:::}}']],
          },
        },
      ]);
    }
  });

  it('sends the $default route, behind the origin authorizer, to the default route function', () => {
    synthesized.templates.dev.api.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: DEFAULT_ROUTE_KEY,
      AuthorizationType: 'CUSTOM',
      AuthorizerId: Match.anyValue(),
    });
    expect(functionByRouteKey('dev').get(DEFAULT_ROUTE_KEY)).toBe(
      functionLogicalId('dev', DEFAULT_ROUTE_FUNCTION),
    );
  });

  it('configures the JWT authorizer with the issuer and audience of each environment', () => {
    const configs = loadEnvironmentConfigs(synthesized.app);
    for (const env of ENVIRONMENT_NAMES) {
      // cdk.json names an issuer for every environment: no fallback user pool is created.
      expect(configs[env].jwt).toBeDefined();
      expect(synthesized.stages[env].api.cognito).toBeUndefined();
      synthesized.templates[env].api.resourceCountIs('AWS::Cognito::UserPool', 0);
      synthesized.templates[env].api.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: {
          Issuer: configs[env].jwt?.issuer,
          Audience: configs[env].jwt?.audience,
        },
      });
    }
  });

  it('builds one function per function name: nodejs22.x, arm64, X-Ray active, sized explicitly', () => {
    const template = synthesized.templates.dev.api;
    const functions = template.findResources('AWS::Lambda::Function') as Resources;
    // Besides them: the provider that reads the web ACL's ARN at deploy time.
    expect(Object.keys(functions).sort()).toEqual(
      [
        ...AIC_FUNCTION_NAMES.map((name) => functionLogicalId('dev', name)),
        readerProviderLogicalId('dev'),
      ].sort(),
    );
    const config = loadEnvironmentConfigs(synthesized.app).dev;
    for (const name of AIC_FUNCTION_NAMES) {
      const props = functions[functionLogicalId('dev', name)]?.Properties;
      expect(props).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
        MemorySize: memoryOf({ functionName: name, config }),
        Timeout: FUNCTION_SIZING[name].timeoutSeconds,
      });
    }
  });

  it('sizes the compress function as cdk.json says, tells it its vCPUs, and keeps every function within API Gateway limits', () => {
    const configs = loadEnvironmentConfigs(synthesized.app);
    for (const env of ENVIRONMENT_NAMES) {
      const { memoryMiB } = configs[env].lambda.compress;
      const compress = functionProperties(env, 'compress');
      expect(compress).toMatchObject({ MemorySize: memoryMiB, Timeout: 25 });
      const vcpus = Math.max(1, Math.min(2, Math.floor(memoryMiB / 1769)));
      expect(compress).toMatchObject({
        Environment: { Variables: { ENGINE_PARALLEL_ENCODES: String(vcpus) } },
      });
    }
    // A cold start (init) comes on top of the timeout; API Gateway gives up after 29 s.
    for (const name of FUNCTION_NAMES) {
      expect(functionProperties('dev', name).Timeout, name).toBeLessThanOrEqual(25);
    }
  });

  it('attaches the sharp layer to the compress function only', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const layer = logicalId(
        synthesized.stages[env].api.sharpLayer?.layer.node.defaultChild as CfnResource,
      );
      expect(functionProperties(env, 'compress').Layers).toEqual([{ Ref: layer }]);
      expect(functionProperties(env, 'health').Layers).toBeUndefined();
      expect(functionProperties(env, 'dashboard').Layers).toBeUndefined();
      for (const name of FUNCTION_NAMES) {
        expect(Boolean(functionProperties(env, name).Layers), name).toBe(
          FUNCTION_SIZING[name].needsSharp,
        );
      }
    }
  });

  it('runs the functions that load sharp through the Node flags wrapper, and only those', () => {
    for (const env of ENVIRONMENT_NAMES) {
      for (const name of FUNCTION_NAMES) {
        const { Environment } = functionProperties(env, name) as {
          Environment?: { Variables?: Record<string, string> };
        };
        const variables = Environment?.Variables ?? {};
        if (FUNCTION_SIZING[name].needsSharp) {
          expect(variables.AWS_LAMBDA_EXEC_WRAPPER, name).toBe(NODE_FLAGS_WRAPPER);
          expect(variables.AIC_NODE_FLAGS, name).toBe(NODE_HEAP_FLAGS.join(' '));
          expect(variables, name).toMatchObject(PIXEL_PROCESS_ENV);
        } else {
          expect(variables.AWS_LAMBDA_EXEC_WRAPPER, name).toBeUndefined();
        }
      }
    }
  });

  it('builds one sharp layer per stage, at the locked sharp version, for Node.js 22 on arm64 only', () => {
    const lock = JSON.parse(readFileSync(repoPath('package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string }>;
    };
    const sharpVersion = lock.packages['node_modules/sharp']?.version;
    for (const env of ENVIRONMENT_NAMES) {
      const layers = synthesized.templates[env].api.findResources('AWS::Lambda::LayerVersion');
      expect(Object.values(layers)).toHaveLength(1);
      expect((Object.values(layers)[0] as Resources[string]).Properties).toMatchObject({
        CompatibleArchitectures: ['arm64'],
        CompatibleRuntimes: ['nodejs22.x'],
        Description: `sharp ${sharpVersion} for Node.js on linux-arm64 (glibc)`,
      });
    }
  });

  it('gives every function the Powertools environment and the allowed CORS origins', () => {
    const configs = loadEnvironmentConfigs(synthesized.app);
    for (const env of ENVIRONMENT_NAMES) {
      for (const name of AIC_FUNCTION_NAMES) {
        expect(functionProperties(env, name).Environment, name).toMatchObject({
          Variables: {
            POWERTOOLS_SERVICE_NAME: 'auralink-aic',
            POWERTOOLS_METRICS_NAMESPACE: 'AuraLink/AIC',
            LOG_LEVEL: configs[env].logLevel,
            CORS_ALLOWED_ORIGINS: configs[env].corsAllowedOrigins.join(','),
            NODE_OPTIONS: '--enable-source-maps',
          },
        });
      }
    }
  });

  it('points the functions at RDS Proxy and Redis over TLS, the evaluator at Postgres only', () => {
    const databaseVariables = ['DB_HOST', 'DB_IAM_AUTH', 'DB_NAME', 'DB_PORT', 'DB_USER'];
    const redisVariables = ['REDIS_CACHE_NAME', 'REDIS_IAM_AUTH', 'REDIS_URL', 'REDIS_USER'];
    for (const env of ENVIRONMENT_NAMES) {
      for (const name of ALL_FUNCTION_NAMES) {
        const variables = (
          functionProperties(env, name).Environment as {
            Variables: Record<string, unknown>;
          }
        ).Variables;
        const connected = Object.keys(variables).filter((key) => /^(DB|REDIS)_/.test(key));
        const usesRedis = !(name in SCHEDULED_FUNCTIONS);
        expect(connected.sort(), name).toEqual(
          [...databaseVariables, ...(usesRedis ? redisVariables : [])].sort(),
        );
        expect(variables).toMatchObject({
          DB_PORT: '5432',
          DB_NAME: 'auralink',
          DB_IAM_AUTH: 'true',
          DB_USER: 'aic_app',
        });
        // A cross-stack reference to the data stack's proxy endpoint.
        expect(variables.DB_HOST).toHaveProperty('Fn::ImportValue');
        if (usesRedis) {
          expect(JSON.stringify(variables.REDIS_URL)).toMatch(/^\{"Fn::Join":\["",\["rediss:\/\//);
          // IAM auth tokens for the service user on this replication group: no secret at all.
          expect(variables).toMatchObject({
            REDIS_IAM_AUTH: 'true',
            REDIS_USER: `aic-app-${env}`,
            REDIS_CACHE_NAME: `auralink-aic-${env}`,
          });
        }
      }
    }
  });

  it('runs every function in the application subnets with a security group of its own', () => {
    const { api } = synthesized.stages.dev;
    for (const name of ALL_FUNCTION_NAMES) {
      const props = functionProperties('dev', name);
      const vpcConfig = props.VpcConfig as { SecurityGroupIds: unknown[]; SubnetIds: unknown[] };
      expect(vpcConfig.SubnetIds, name).toHaveLength(2);
      expect(vpcConfig.SecurityGroupIds, name).toHaveLength(1);
    }
    const groups = synthesized.templates.dev.api.findResources('AWS::EC2::SecurityGroup');
    expect(Object.keys(groups)).toHaveLength(ALL_FUNCTION_NAMES.length);
    expect(Object.keys(api.functions)).toHaveLength(FUNCTION_NAMES.length);
  });

  it('lets each function reach only the VPC endpoints, RDS Proxy and (if it uses it) Redis', () => {
    const configs = loadEnvironmentConfigs(synthesized.app);
    for (const env of ENVIRONMENT_NAMES) {
      const groups = synthesized.templates[env].api.findResources(
        'AWS::EC2::SecurityGroup',
      ) as Resources;
      for (const name of ALL_FUNCTION_NAMES) {
        const groupId = (
          functionProperties(env, name).VpcConfig as {
            SecurityGroupIds: [{ 'Fn::GetAtt': [string, string] }];
          }
        ).SecurityGroupIds[0]['Fn::GetAtt'][0];
        expect(groups[groupId], name).toBeDefined();
        const egress = securityGroupRules(synthesized.templates[env].api, groupId, 'egress');
        const usesRedis = !(name in SCHEDULED_FUNCTIONS);
        expect(egress.map((rule) => rule.ToPort).sort(), name).toEqual(
          [443, 5432, ...(usesRedis ? [configs[env].cache.port] : [])].sort(),
        );
      }
    }
  });

  it('lets each function read no secret, connect to the proxy as aic_app and to Redis (if it uses it) as the service user', () => {
    for (const env of ENVIRONMENT_NAMES) {
      for (const name of ALL_FUNCTION_NAMES) {
        const { api } = synthesized.stages[env];
        const fn =
          name in SCHEDULED_FUNCTIONS
            ? api.scheduled[name as ScheduledFunctionName].fn
            : api.functions[name as FunctionName];
        const statements = roleStatements(env, fn.function.role);
        const actions = statements.flatMap((statement) => [statement.Action].flat());
        // Postgres and Redis take IAM tokens: no secret to read.
        expect(
          actions.filter((action) => action.startsWith('secretsmanager:')),
          name,
        ).toEqual([]);
        const connect = statements.filter((statement) => statement.Action === 'rds-db:connect');
        expect(connect, name).toHaveLength(1);
        // arn:...:rds-db:<region>:<account>:dbuser:<proxy resource id>/aic_app
        const resource = JSON.stringify(connect[0]?.Resource);
        expect(resource).toMatch(/:dbuser:.*DBProxyArn.*\/aic_app"\]\]\}$/);
        const redis = statements.filter((statement) => statement.Action === 'elasticache:Connect');
        const usesRedis = !(name in SCHEDULED_FUNCTIONS);
        expect(redis, name).toHaveLength(usesRedis ? 1 : 0);
        for (const statement of redis) {
          const resources = [statement.Resource].flat().map((arn) => JSON.stringify(arn));
          expect(resources).toHaveLength(2);
          expect(resources[0]).toMatch(
            new RegExp(`:replicationgroup:auralink-aic-${env}"\\]\\]\\}$`),
          );
          expect(resources[1]).toMatch(new RegExp(`:user:aic-app-${env}"\\]\\]\\}$`));
        }
      }
    }
  });

  it('sets the configured retention on every log group and logs each function to its own', () => {
    const configs = loadEnvironmentConfigs(synthesized.app);
    for (const env of ENVIRONMENT_NAMES) {
      const template = synthesized.templates[env].api;
      const logGroups = template.findResources('AWS::Logs::LogGroup') as Resources;
      // One per function (the web ACL ARN reader's included) plus the access logs.
      expect(Object.keys(logGroups)).toHaveLength(AIC_FUNCTION_NAMES.length + 2);
      for (const group of Object.values(logGroups)) {
        expect(group.Properties.RetentionInDays).toBe(configs[env].logRetentionDays);
      }
      const functions = template.findResources('AWS::Lambda::Function') as Resources;
      const targets = Object.values(functions).map(
        (fn) => (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref,
      );
      expect(new Set(targets).size).toBe(AIC_FUNCTION_NAMES.length + 1);
      for (const target of targets) expect(logGroups[target]).toBeDefined();
    }
  });

  it("encrypts every log group with the stack's own log key", () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { api } = synthesized.stages[env];
      const key = logicalId(api.node.findChild('LogsKey').node.defaultChild as CfnResource);
      const template = synthesized.templates[env].api;
      const keys = template.findResources('AWS::KMS::Key') as Resources;
      expect(keys[key]?.Properties.EnableKeyRotation).toBe(true);
      const groups = template.findResources('AWS::Logs::LogGroup') as Resources;
      expect(Object.keys(groups).length).toBeGreaterThan(0);
      for (const [id, group] of Object.entries(groups)) {
        expect(group.Properties.KmsKeyId, id).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
      }
    }
  });

  it('throttles each route the route table gives a throttle, $default included, below the stage', () => {
    const configs = loadEnvironmentConfigs(synthesized.app);
    const throttles = routeThrottles();
    const publicKeys = routeList.filter((route) => !route.auth).map(routeKey);
    // Every route without a token has its own throttle, and so has the catch-all.
    expect([...throttles.keys()].sort()).toEqual([...publicKeys, DEFAULT_ROUTE_KEY].sort());
    for (const env of ENVIRONMENT_NAMES) {
      const template = synthesized.templates[env].api;
      const stages = template.findResources('AWS::ApiGatewayV2::Stage') as Resources;
      expect(Object.keys(stages)).toHaveLength(1);
      const [stageId, stage] = Object.entries(stages)[0] as [string, Resources[string]];
      expect(stage.Properties.RouteSettings).toEqual(
        Object.fromEntries(
          [...throttles].map(([key, throttle]) => [
            key,
            { ThrottlingRateLimit: throttle.rateLimit, ThrottlingBurstLimit: throttle.burstLimit },
          ]),
        ),
      );
      for (const throttle of throttles.values()) {
        expect(throttle.rateLimit).toBeLessThanOrEqual(configs[env].throttling.rateLimit);
        expect(throttle.burstLimit).toBeLessThanOrEqual(configs[env].throttling.burstLimit);
      }
      // CloudFormation refuses settings for a route that does not exist yet.
      const routes = template.findResources('AWS::ApiGatewayV2::Route') as Resources;
      const throttledRouteIds = Object.entries(routes)
        .filter(([, route]) => throttles.has(route.Properties.RouteKey as string))
        .map(([id]) => id);
      expect(throttledRouteIds).toHaveLength(throttles.size);
      expect(stage.DependsOn, stageId).toEqual(expect.arrayContaining(throttledRouteIds));
    }
  });

  it('reserves the configured concurrency for every function and one for each deploy step, within the account', () => {
    const configs = loadEnvironmentConfigs(synthesized.app);
    expect([...RESERVED_FUNCTION_NAMES].sort()).toEqual(
      [...AIC_FUNCTION_NAMES, 'metricsConsumer'].sort(),
    );
    expect(DEPLOY_FUNCTION_CONCURRENCY).toBe(1);
    for (const env of ENVIRONMENT_NAMES) {
      const { reservedConcurrency, accountConcurrency } = configs[env].lambda;
      for (const name of AIC_FUNCTION_NAMES) {
        expect(functionProperties(env, name).ReservedConcurrentExecutions, `${env} ${name}`).toBe(
          reservedConcurrency[name],
        );
      }
      const total = Object.values<number>(reservedConcurrency).reduce((a, b) => a + b, 0);
      expect(total + DEPLOY_RESERVED_CONCURRENCY).toBeLessThanOrEqual(
        accountConcurrency - UNRESERVED_CONCURRENCY_MINIMUM,
      );
      // CDK's custom resource provider runs only during deployments and reserves nothing.
      const reader = synthesized.templates[env].api.findResources(
        'AWS::Lambda::Function',
      ) as Resources;
      expect(
        reader[readerProviderLogicalId(env)]?.Properties.ReservedConcurrentExecutions,
      ).toBeUndefined();
      // The deploy steps reserve one each: two of them never run at once.
      const { bootstrap, migrations } = synthesized.stages[env].data;
      const dataFunctions = synthesized.templates[env].data.findResources(
        'AWS::Lambda::Function',
      ) as Resources;
      for (const fn of [bootstrap.fn.function, migrations.fn.function]) {
        expect(
          dataFunctions[logicalId(fn.node.defaultChild as CfnResource)]?.Properties
            .ReservedConcurrentExecutions,
          fn.node.path,
        ).toBe(1);
      }
    }
    expect(configs.prod.lambda.reservedConcurrency).not.toEqual(
      configs.dev.lambda.reservedConcurrency,
    );
  });

  it('runs the origin authorizer outside the VPC, reading only the origin secret', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const props = functionProperties(env, 'originAuthorizer');
      expect(props.VpcConfig).toBeUndefined();
      const secret = logicalId(
        synthesized.stages[env].api.distribution.originSecret.node.defaultChild as CfnResource,
      );
      const variables = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables.ORIGIN_VERIFY_SECRET_ARN).toEqual({ Ref: secret });
      expect(Object.keys(variables).filter((key) => /^(DB|REDIS)_/.test(key))).toEqual([]);
      const role = synthesized.stages[env].api.originAuthorizer.function.role;
      const statements = roleStatements(env, role);
      const secretReads = statements.filter((statement) =>
        [statement.Action].flat().includes('secretsmanager:GetSecretValue'),
      );
      expect(secretReads.map((statement) => statement.Resource)).toEqual([{ Ref: secret }]);
      expect(statements.some((statement) => statement.Action === 'rds-db:connect')).toBe(false);
    }
  });

  it('encrypts the origin secret with its own rotated key, which the authorizer may use only through Secrets Manager', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { distribution, originAuthorizer } = synthesized.stages[env].api;
      const template = synthesized.templates[env].api;
      const key = logicalId(distribution.originSecretKey.node.defaultChild as CfnResource);
      const secrets = template.findResources('AWS::SecretsManager::Secret') as Resources;
      const secret = secrets[logicalId(distribution.originSecret.node.defaultChild as CfnResource)];
      expect(secret?.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
      const keys = template.findResources('AWS::KMS::Key') as Resources;
      expect(keys[key]?.Properties.EnableKeyRotation).toBe(true);
      const keyPolicy = keys[key]?.Properties.KeyPolicy as
        | { Statement: { Action: string | string[]; Principal: unknown; Condition?: unknown }[] }
        | undefined;
      const statements = keyPolicy?.Statement ?? [];
      const role = logicalId(originAuthorizer.function.role?.node.defaultChild as CfnResource);
      const authorizer = statements.filter(
        (statement) =>
          JSON.stringify(statement.Principal) ===
          JSON.stringify({ AWS: { 'Fn::GetAtt': [role, 'Arn'] } }),
      );
      expect(authorizer).toHaveLength(1);
      expect(authorizer[0]?.Action).toBe('kms:Decrypt');
      expect(JSON.stringify(authorizer[0]?.Condition)).toContain('"kms:ViaService"');
    }
  });

  it('puts CloudFront with the edge web ACL in front of the API, caching nothing', () => {
    const configs = loadEnvironmentConfigs(synthesized.app);
    for (const env of ENVIRONMENT_NAMES) {
      const { api } = synthesized.stages[env];
      const parameterName = webAclArnParameterName(configs[env]);
      const template = synthesized.templates[env].api;
      const reader = Object.entries(template.findResources('Custom::AWS') as Resources);
      expect(reader).toHaveLength(1);
      const [readerId, readerResource] = reader[0] as [string, Resources[string]];
      const call = JSON.parse(readerResource.Properties.Update as string);
      expect(call).toEqual({
        service: 'SSM',
        action: 'getParameter',
        parameters: { Name: parameterName },
        region: EDGE_REGION,
        physicalResourceId: { id: parameterName },
      });
      template.hasResourceProperties('AWS::CloudFront::Distribution', {
        DistributionConfig: Match.objectLike({
          Enabled: true,
          WebACLId: { 'Fn::GetAtt': [readerId, 'Parameter.Value'] },
          DefaultCacheBehavior: Match.objectLike({
            ViewerProtocolPolicy: 'https-only',
            AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
            CachePolicyId: CachePolicy.CACHING_DISABLED.cachePolicyId,
            OriginRequestPolicyId:
              OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER.originRequestPolicyId,
          }),
          Origins: [
            Match.objectLike({
              DomainName: {
                'Fn::Join': [
                  '',
                  [
                    { Ref: logicalId(api.api.api.node.defaultChild as CfnResource) },
                    '.execute-api.',
                    { Ref: 'AWS::Region' },
                    '.',
                    { Ref: 'AWS::URLSuffix' },
                  ],
                ],
              },
              CustomOriginConfig: Match.objectLike({
                OriginProtocolPolicy: 'https-only',
                OriginSSLProtocols: ['TLSv1.2'],
              }),
            }),
          ],
        }),
      });
      // The reader may write its log group and read that one parameter, in the web ACL's region.
      const readerRole = api.node.findChild('WebAclArn').node.findChild('Role') as IRole;
      const [logs, ssm, ...others] = roleStatements(env, readerRole);
      expect(others).toEqual([]);
      expect(logs?.Action).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(ssm?.Action).toBe('ssm:GetParameter');
      const ssmResource = JSON.stringify(ssm?.Resource);
      expect(ssmResource).toContain(`":ssm:${EDGE_REGION}:"`);
      expect(ssmResource).toContain(`":parameter${parameterName}"`);
    }
  });

  it('throttles the stage and writes JSON access logs to the access log group', () => {
    const configs = loadEnvironmentConfigs(synthesized.app);
    for (const env of ENVIRONMENT_NAMES) {
      const template = synthesized.templates[env].api;
      const accessLogs = logicalId(
        synthesized.stages[env].api.api.accessLogGroup.node.defaultChild as CfnResource,
      );
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: {
          ThrottlingRateLimit: configs[env].throttling.rateLimit,
          ThrottlingBurstLimit: configs[env].throttling.burstLimit,
        },
        AccessLogSettings: {
          DestinationArn: { 'Fn::GetAtt': [accessLogs, 'Arn'] },
          Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"'),
        },
      });
      const stage = Object.values(
        template.findResources('AWS::ApiGatewayV2::Stage'),
      )[0] as Resources[string];
      const format = (stage.Properties.AccessLogSettings as { Format: string }).Format;
      expect(() => JSON.parse(format)).not.toThrow();
    }
  });

  it('answers CORS preflight for the configured origins only, never "*"', () => {
    const configs = loadEnvironmentConfigs(synthesized.app);
    for (const env of ENVIRONMENT_NAMES) {
      const api = Object.values(
        synthesized.templates[env].api.findResources('AWS::ApiGatewayV2::Api'),
      )[0] as Resources[string];
      const cors = api.Properties.CorsConfiguration as Record<string, string[]>;
      expect(cors.AllowOrigins).toEqual(configs[env].corsAllowedOrigins);
      expect(cors.AllowOrigins).not.toContain('*');
      expect(cors.AllowHeaders).toContain('authorization');
      for (const route of routeList) expect(cors.AllowMethods).toContain(route.method);
    }
  });

  it('lets browsers send and read the headers the functions allow and expose themselves', () => {
    const lower = (names: readonly string[]) => names.map((name) => name.toLowerCase());
    for (const env of ENVIRONMENT_NAMES) {
      const api = Object.values(
        synthesized.templates[env].api.findResources('AWS::ApiGatewayV2::Api'),
      )[0] as Resources[string];
      const cors = api.Properties.CorsConfiguration as Record<string, string[]>;
      expect(cors.AllowHeaders).toEqual(lower(CORS_ALLOWED_HEADERS));
      expect(cors.ExposeHeaders).toEqual(lower(CORS_EXPOSED_HEADERS));
      expect(cors.ExposeHeaders).toContain('x-aic-degraded');
    }
  });

  it('runs each scheduled function from its own EventBridge rule at its rate, retrying a delivery only within its minute', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const rules = synthesized.templates[env].api.findResources('AWS::Events::Rule') as Resources;
      expect(Object.keys(rules)).toHaveLength(SCHEDULED_NAMES.length);
      for (const name of SCHEDULED_NAMES) {
        const { everyMinutes } = SCHEDULED_FUNCTIONS[name];
        synthesized.templates[env].api.hasResourceProperties('AWS::Events::Rule', {
          ScheduleExpression: `rate(${everyMinutes} minute${everyMinutes === 1 ? '' : 's'})`,
          State: 'ENABLED',
          Targets: [
            Match.objectLike({
              Arn: { 'Fn::GetAtt': [functionLogicalId(env, name), 'Arn'] },
              RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
              DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deadLetterQueueId(env, name), 'Arn'] } },
            }),
          ],
        });
      }
      // Only EventBridge may invoke a scheduled function.
      synthesized.templates[env].api.hasResourceProperties('AWS::Lambda::Permission', {
        Principal: 'events.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [functionLogicalId(env, 'alerts'), 'Arn'] },
      });
    }
  });

  it('gives the alerts function a dead-letter queue for failed and late runs, which the schedule uses too', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const template = synthesized.templates[env].api;
      const { fn } = synthesized.stages[env].api.scheduled.alerts;
      expect(fn.deadLetterQueue).toBeDefined();
      const queue = deadLetterQueueId(env, 'alerts');
      expect(functionProperties(env, 'alerts').DeadLetterConfig).toEqual({
        TargetArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      });
      // A failed run is not retried, and a run that cannot start within its minute is dropped.
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: functionLogicalId(env, 'alerts') },
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 60,
      });
      template.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: `auralink-aic-${env}-alerts-dlq`,
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
      // TLS only; the schedule may send to it, and the function's role may.
      const policies = Object.values(
        template.findResources('AWS::SQS::QueuePolicy') as Resources,
      ).filter((policy) => JSON.stringify(policy.Properties.Queues).includes(queue));
      expect(policies).toHaveLength(1);
      const statements = JSON.stringify(policies[0]?.Properties.PolicyDocument);
      expect(statements).toContain('"aws:SecureTransport":"false"');
      expect(statements).toContain('"Service":"events.amazonaws.com"');
      const sends = roleStatements(env, fn.function.role).filter(
        (statement) => statement.Action === 'sqs:SendMessage',
      );
      expect(sends.map((statement) => statement.Resource)).toEqual([
        { 'Fn::GetAtt': [queue, 'Arn'] },
      ]);
    }
    // The functions API Gateway invokes synchronously have none.
    for (const name of FUNCTION_NAMES) {
      expect(synthesized.stages.dev.api.functions[name].deadLetterQueue, name).toBeUndefined();
    }
  });

  it('outputs the API URL: CloudFront, not the API endpoint', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const distribution = logicalId(
        synthesized.stages[env].api.distribution.distribution.node.defaultChild as CfnResource,
      );
      synthesized.templates[env].api.hasOutput('ApiUrl', {
        Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distribution, 'DomainName'] }]] },
      });
    }
  });

  it('contains no secret values in any template', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const template = structuredClone(synthesized.templates[env].api.toJSON()) as {
        Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
      };
      // The origin secret is generated by Secrets Manager, and CloudFront's origin header is a
      // dynamic reference to it (checked above): neither holds a value.
      for (const [id, resource] of Object.entries(template.Resources)) {
        if (resource.Type === 'AWS::SecretsManager::Secret') {
          expect(resource.Properties.SecretString).toBeUndefined();
          expect(resource.Properties.GenerateSecretString).toBeDefined();
          delete template.Resources[id];
        }
        if (resource.Type !== 'AWS::CloudFront::Distribution') continue;
        const config = resource.Properties.DistributionConfig as {
          Origins: { OriginCustomHeaders?: unknown }[];
        };
        for (const origin of config.Origins) delete origin.OriginCustomHeaders;
      }
      const text = JSON.stringify(template);
      expect(text).not.toMatch(/AIC_JWT_SECRET|password|SecretString/i);
      const testSigningKey = process.env.AIC_JWT_SECRET;
      if (testSigningKey) expect(text).not.toContain(testSigningKey);
    }
  });

  it('leaves no cdk-nag finding unacknowledged in any stage', () => {
    for (const env of ENVIRONMENT_NAMES) {
      for (const pack of [
        new AwsSolutionsChecks(),
        new ServerlessChecks(),
        new NIST80053R5Checks(),
      ]) {
        const report = pack.validateScope(synthesized.stages[env]);
        expect(report.violations, `${pack.name} in ${env}`).toEqual([]);
        expect(report.success).toBe(true);
      }
    }
  });

  it('fails synthesis when a cdk-nag error is left unacknowledged', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stages = buildAicApp(app);
    new CfnRoute(stages.dev.api, 'UnguardedRoute', { apiId: 'api', routeKey: 'GET /open' });
    expect(() => app.synth()).toThrow(/dev\/Api\/UnguardedRoute[\s\S]*AwsSolutions-APIG4/);
  });

  it('acknowledges only the expected cdk-nag rules in the API stack, each with a reason', () => {
    const acknowledged = new Map<string, string[]>();
    for (const construct of synthesized.stages.dev.api.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          expect(reason.length, id).toBeGreaterThan(40);
          const rule = id.replace(/^annotation::/i, '');
          acknowledged.set(rule, [...(acknowledged.get(rule) ?? []), construct.node.path]);
        }
      }
    }
    // Every route has an authorizer: no AwsSolutions-APIG4 to acknowledge.
    const provider = `dev/Api/AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`;
    // The synchronously invoked AIC functions and the web ACL ARN reader's provider.
    const withoutDeadLetterQueue = AIC_FUNCTION_NAMES.length - SCHEDULED_NAMES.length + 1;
    expect(Object.fromEntries([...acknowledged].map(([id, paths]) => [id, paths.length]))).toEqual({
      'AwsSolutions-L1': AIC_FUNCTION_NAMES.length,
      'Serverless-LambdaLatestVersion': AIC_FUNCTION_NAMES.length,
      'Serverless-LambdaDLQ': withoutDeadLetterQueue,
      'NIST.800.53.R5-LambdaDLQ': withoutDeadLetterQueue,
      'Serverless-LambdaTracing': 1,
      'NIST.800.53.R5-LambdaConcurrency': 1,
      'NIST.800.53.R5-LambdaInsideVPC': 2,
      'AwsSolutions-IAM5[Resource::*]': AIC_FUNCTION_NAMES.length,
      'Serverless-SQSRedrivePolicy': SCHEDULED_NAMES.length,
      'Serverless-LambdaAsyncFailureDestination': SCHEDULED_NAMES.length,
      'AwsSolutions-CFR1': 1,
      'AwsSolutions-CFR3': 1,
      'AwsSolutions-CFR4': 1,
      'AwsSolutions-SMG4': 1,
      'NIST.800.53.R5-SecretsManagerRotationEnabled': 1,
    });
    for (const path of acknowledged.get('AwsSolutions-IAM5[Resource::*]') ?? []) {
      expect(path).toMatch(/\/Role\/Policy$/);
    }
    expect(acknowledged.get('Serverless-LambdaTracing')).toEqual([provider]);
    expect(acknowledged.get('NIST.800.53.R5-LambdaConcurrency')).toEqual([provider]);
    expect(acknowledged.get('NIST.800.53.R5-LambdaInsideVPC')?.sort()).toEqual(
      [provider, 'dev/Api/OriginAuthorizerFunction/Function'].sort(),
    );
    expect(acknowledged.get('Serverless-SQSRedrivePolicy')).toEqual([
      'dev/Api/AlertsFunction/DeadLetterQueue',
    ]);
    for (const rule of ['AwsSolutions-CFR1', 'AwsSolutions-CFR3', 'AwsSolutions-CFR4']) {
      expect(acknowledged.get(rule)).toEqual(['dev/Api/Edge/Distribution']);
    }
    expect(acknowledged.get('AwsSolutions-SMG4')).toEqual(['dev/Api/Edge/OriginSecret']);
    expect(acknowledged.get('NIST.800.53.R5-SecretsManagerRotationEnabled')).toEqual([
      'dev/Api/Edge/OriginSecret',
    ]);
  });

  it('differs between prod and dev where the configuration says so', () => {
    const configs = loadEnvironmentConfigs(synthesized.app);
    const { dev, prod } = {
      dev: synthesized.templates.dev.api,
      prod: synthesized.templates.prod.api,
    };
    expect(configs.prod.logRetentionDays).not.toBe(configs.dev.logRetentionDays);
    expect(configs.prod.throttling).not.toEqual(configs.dev.throttling);
    expect(configs.prod.corsAllowedOrigins).not.toEqual(configs.dev.corsAllowedOrigins);

    for (const [template, config] of [
      [dev, configs.dev],
      [prod, configs.prod],
    ] as const) {
      template.allResourcesProperties('AWS::Logs::LogGroup', {
        RetentionInDays: config.logRetentionDays,
      });
      const deletionPolicies = Object.values(
        template.findResources('AWS::Logs::LogGroup') as Resources,
      ).map((group) => group.DeletionPolicy);
      expect(new Set(deletionPolicies)).toEqual(
        new Set([config.retainOnDelete ? 'Retain' : 'Delete']),
      );
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        DefaultRouteSettings: {
          ThrottlingRateLimit: config.throttling.rateLimit,
          ThrottlingBurstLimit: config.throttling.burstLimit,
        },
      });
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        CorsConfiguration: Match.objectLike({ AllowOrigins: config.corsAllowedOrigins }),
      });
      template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        JwtConfiguration: { Issuer: config.jwt?.issuer, Audience: config.jwt?.audience },
      });
    }
    expect(dev.toJSON()).not.toEqual(prod.toJSON());
  });
});

describe('the functions with real bundling', () => {
  let outdir: string;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'aic-cdk-'));
  });

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('bundles every function with esbuild into an ESM handler with the require banner', {
    timeout: 180_000,
  }, () => {
    const { stages, templates } = synthAicApp({ bundlingStacks: ['dev/*'], outdir });
    const functions = templates.dev.api.findResources('AWS::Lambda::Function') as Resources;
    // The AIC functions and the web ACL ARN reader's provider (CDK's own bundle).
    expect(Object.keys(functions)).toHaveLength(AIC_FUNCTION_NAMES.length + 1);
    for (const name of [...FUNCTION_NAMES, 'originAuthorizer'] as const) {
      const fn =
        name === 'originAuthorizer'
          ? stages.dev.api.originAuthorizer.function
          : stages.dev.api.functions[name].function;
      const props = functions[logicalId(fn.node.defaultChild as CfnResource)]?.Properties ?? {};
      const key = (props.Code as { S3Key: string }).S3Key;
      const assetDir = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
      const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
      expect(
        bundle.startsWith(
          "import { createRequire } from 'module';const require = createRequire(import.meta.url);",
        ),
      ).toBe(true);
      expect(bundle).toMatch(/export\s*\{[^}]*\bas handler\b|export\s*\{[^}]*\bhandler\b/);
      expect(existsSync(join(assetDir, 'index.mjs.map'))).toBe(true);
      // The runtime provides the AWS SDK: it must stay out of the bundle.
      expect(bundle).not.toMatch(/@aws-sdk\/client-secrets-manager\/dist/);
      // sharp stays external and comes from the layer: a function importing it must be marked.
      expect(/\bfrom\s*["']sharp["']/.test(bundle), name).toBe(FUNCTION_SIZING[name].needsSharp);
    }

    // The deploy-time migration function bundles the same migration runner and migrations.
    const migrate = stages.dev.data.migrations.fn.function;
    const dataFunctions = templates.dev.data.findResources('AWS::Lambda::Function') as Resources;
    const migrateProps = dataFunctions[logicalId(migrate.node.defaultChild as CfnResource)];
    const migrateCode = migrateProps?.Properties.Code as { S3Key: string } | undefined;
    const migrateKey = migrateCode?.S3Key ?? '';
    const migrateBundle = readFileSync(
      join(outdir, `asset.${migrateKey.replace(/\.zip$/, '')}`, 'index.mjs'),
      'utf8',
    );
    expect(migrateBundle).toContain('auralink_aic.schema_migrations');
    for (const migration of MIGRATIONS) expect(migrateBundle).toContain(migration.id);
  });
});
