import { CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { Rule } from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';
import {
  FUNCTION_ENTRIES,
  type FunctionName,
  routeList,
  SCHEDULED_FUNCTIONS,
  type ScheduledFunctionName,
} from '../../functions/core/contracts/routes.ts';
import type { EnvironmentConfig } from '../config/environment-config.ts';
import { FUNCTION_SIZING } from '../config/function-sizing.ts';
import { AicFunction, type AicFunctionNetwork } from '../constructs/aic-function.ts';
import { ScheduledFunction } from '../constructs/api/scheduled-function.ts';
import { connectToData } from '../constructs/data/data-access.ts';
import { ApiDistribution } from '../constructs/edge/api-distribution.ts';
import { WebAclArnReader } from '../constructs/edge/web-acl-arn-reader.ts';
import type { FrameEventProducerAccess } from '../constructs/metrics/frame-event-stream.ts';
import { RouteTableApi } from '../constructs/route-table-api.ts';
import { SharpLayer } from '../constructs/sharp-layer.ts';
import { CognitoIssuer, configuredIssuer, type TokenIssuer } from '../constructs/token-issuer.ts';
import type { DataStack } from './data-stack.ts';
import { EDGE_REGION, webAclArnParameterName } from './edge-stack.ts';
import { type NetworkStack, SUBNET_GROUPS } from './network-stack.ts';

/** The functions that answer frames, and so append each frame's event to the metrics stream. */
export const FRAME_EVENT_PRODUCERS: readonly FunctionName[] = ['compress'];

/** Properties of {@link ApiStack}. */
export interface ApiStackProps extends StackProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The environment's network. */
  readonly network: NetworkStack;
  /** Postgres and Redis. */
  readonly data: DataStack;
  /** The metrics stream, which the functions that answer frames append to. */
  readonly metrics: FrameEventProducerAccess;
}

/**
 * The public HTTP API of one environment: one Lambda function per {@link FunctionName}, the sharp
 * layer for those that need it, and the routes of the route table in front of them, behind a
 * CloudFront distribution with the edge stack's web ACL. The functions run in the VPC's application
 * subnets; each may reach only RDS Proxy, Redis (if it uses it) and the VPC endpoints, and reads
 * no secret: Postgres and Redis both take IAM auth tokens. The origin authorizer runs outside the
 * VPC and reads only the origin secret. Deploy it after the edge stack, whose web ACL it reads.
 */
export class ApiStack extends Stack {
  /** The Lambda functions, one per {@link FunctionName}. */
  readonly functions: Readonly<Record<FunctionName, AicFunction>>;
  /** The scheduled functions, one per {@link ScheduledFunctionName}, each with its rule. */
  readonly scheduled: Readonly<Record<ScheduledFunctionName, { fn: AicFunction; rule: Rule }>>;
  /** The HTTP API built from the route table. */
  readonly api: RouteTableApi;
  /** The sharp layer; absent when no function needs sharp. */
  readonly sharpLayer?: SharpLayer;
  /** Who signs the accepted tokens: the configured issuer, or {@link cognito}'s user pool. */
  readonly tokenIssuer: TokenIssuer;
  /** The fallback user pool; present only when the environment configures no `jwt` issuer. */
  readonly cognito?: CognitoIssuer;
  /** The Lambda authorizer of the routes without a token (CloudFront's origin header). */
  readonly originAuthorizer: AicFunction;
  /** CloudFront in front of the API, with the web ACL and the origin secret. */
  readonly distribution: ApiDistribution;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config } = props;
    const network: AicFunctionNetwork = {
      vpc: props.network.vpc,
      subnets: { subnetGroupName: SUBNET_GROUPS.app },
    };
    const names = Object.keys(FUNCTION_ENTRIES) as FunctionName[];
    if (names.some((name) => FUNCTION_SIZING[name].needsSharp)) {
      this.sharpLayer = new SharpLayer(this, 'SharpLayer');
    }
    this.functions = this.createFunctions(names, network, props);

    if (config.jwt) {
      this.tokenIssuer = configuredIssuer(config.jwt);
    } else {
      this.cognito = new CognitoIssuer(this, 'Auth', { config });
      this.tokenIssuer = this.cognito.tokenIssuer;
    }
    this.originAuthorizer = new AicFunction(this, 'OriginAuthorizerFunction', {
      functionName: 'originAuthorizer',
      config,
    });
    Validations.of(this.originAuthorizer.function).acknowledge({
      id: 'NIST.800.53.R5-LambdaInsideVPC',
      reason:
        'The origin authorizer only compares a header with the origin secret, which it reads ' +
        'from the Secrets Manager API; it reaches no resource in the VPC, where it would gain ' +
        'no isolation and only add network interfaces and the Secrets Manager endpoint to the ' +
        'path of every request without a token.',
    });
    this.api = new RouteTableApi(this, 'Api', {
      routes: routeList,
      functions: Object.fromEntries(
        names.map((name) => [name, this.functions[name].function]),
      ) as Record<FunctionName, AicFunction['function']>,
      config,
      tokenIssuer: this.tokenIssuer,
      originAuthorizer: this.originAuthorizer.function,
    });
    this.distribution = this.createDistribution(config);

    this.scheduled = this.createScheduledFunctions(network, props);

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the AuraLink AIC HTTP API: its CloudFront distribution',
      value: `https://${this.distribution.distribution.distributionDomainName}`,
    });
  }

  /** CloudFront with the edge stack's web ACL, and the origin secret its authorizer checks. */
  private createDistribution(config: EnvironmentConfig): ApiDistribution {
    const { webAclArn } = new WebAclArnReader(this, 'WebAclArn', {
      config,
      parameterName: webAclArnParameterName(config),
      region: EDGE_REGION,
    });
    const distribution = new ApiDistribution(this, 'Edge', {
      config,
      api: this.api.api,
      webAclArn,
    });
    distribution.originSecret.grantRead(this.originAuthorizer.function);
    this.originAuthorizer.function.addEnvironment(
      'ORIGIN_VERIFY_SECRET_ARN',
      distribution.originSecret.secretArn,
    );
    return distribution;
  }

  /**
   * The functions behind the routes, each connected to Postgres and Redis; those that answer
   * frames may also append to the metrics stream.
   */
  private createFunctions(
    names: readonly FunctionName[],
    network: AicFunctionNetwork,
    { config, data, metrics }: ApiStackProps,
  ): Record<FunctionName, AicFunction> {
    const functions = names.map((name) => {
      const producer = FRAME_EVENT_PRODUCERS.includes(name);
      const fn = new AicFunction(this, `${name.charAt(0).toUpperCase()}${name.slice(1)}Function`, {
        functionName: name,
        config,
        sharpLayer: this.sharpLayer?.layer,
        network,
        environment: {
          ...data.databaseEnvironment(),
          ...data.redisEnvironment(),
          ...(producer ? metrics.producerEnvironment() : {}),
        },
      });
      connectToData(fn.function, data, { redis: true });
      if (producer) metrics.grantProduce(fn.function);
      return [name, fn] as const;
    });
    return Object.fromEntries(functions) as Record<FunctionName, AicFunction>;
  }

  /** The scheduled functions with their rules, each connected to Postgres. */
  private createScheduledFunctions(
    network: AicFunctionNetwork,
    { config, data }: ApiStackProps,
  ): Record<ScheduledFunctionName, { fn: AicFunction; rule: Rule }> {
    const names = Object.keys(SCHEDULED_FUNCTIONS) as ScheduledFunctionName[];
    const scheduled = names.map((functionName) => {
      // The evaluator reads and writes Postgres only: no Redis variables, grant or port.
      const { fn, rule } = new ScheduledFunction(this, `Scheduled${functionName}`, {
        functionName,
        config,
        network,
        environment: data.databaseEnvironment(),
      });
      connectToData(fn.function, data, { redis: false });
      return [functionName, { fn, rule }] as const;
    });
    return Object.fromEntries(scheduled) as Record<
      ScheduledFunctionName,
      { fn: AicFunction; rule: Rule }
    >;
  }
}
