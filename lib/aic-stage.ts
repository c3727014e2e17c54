import { Stage, type StageProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from './config/environment-config.ts';
import { ApiStack } from './stacks/api-stack.ts';
import { DataStack } from './stacks/data-stack.ts';
import { EdgeStack } from './stacks/edge-stack.ts';
import { GrpcStack } from './stacks/grpc-stack.ts';
import { MetricsStack } from './stacks/metrics-stack.ts';
import { NetworkStack } from './stacks/network-stack.ts';
import { ObservabilityStack } from './stacks/observability-stack.ts';

/** Properties of {@link AicStage}. */
export interface AicStageProps extends StageProps {
  /** The environment this stage deploys. */
  readonly config: EnvironmentConfig;
}

/**
 * Everything one environment deploys, split by lifecycle: the network, the data (replaced rarely,
 * never casually), the metrics stream with its consumer and archive, the HTTP API and the gRPC
 * service (deployed with every change of code, both producing to the stream), and the
 * observability on top; plus the API's web ACL in us-east-1, the only region CloudFront takes
 * one from. Environment-agnostic on purpose: the account and region come from the deploying
 * credentials (us-east-1 for the edge stack), so synthesis needs no AWS access.
 */
export class AicStage extends Stage {
  /** The VPC, its subnets and endpoints. */
  readonly network: NetworkStack;
  /** Postgres, RDS Proxy, Redis, the database secrets and the deploy-time steps. */
  readonly data: DataStack;
  /** The frame event stream, its consumer and the Parquet archive. */
  readonly metrics: MetricsStack;
  /** The web ACL of the HTTP API's CloudFront distribution, in us-east-1. */
  readonly edge: EdgeStack;
  /** The HTTP API, its functions and its CloudFront distribution. */
  readonly api: ApiStack;
  /** The gRPC service on Fargate behind a Network Load Balancer. */
  readonly grpc: GrpcStack;
  /** The dashboard, the alarms and their topic. */
  readonly observability: ObservabilityStack;

  constructor(scope: Construct, id: string, props: AicStageProps) {
    super(scope, id, props);
    const { config } = props;
    Tags.of(this).add('project', 'auralink-aic');
    Tags.of(this).add('environment', config.name);

    const stackName = (part: string) => `auralink-aic-${config.name}-${part}`;
    this.network = new NetworkStack(this, 'Network', {
      stackName: stackName('network'),
      description: `AuraLink AIC VPC, subnets and endpoints (${config.name})`,
      config,
    });
    this.data = new DataStack(this, 'Data', {
      stackName: stackName('data'),
      description: `AuraLink AIC PostgreSQL, RDS Proxy, Redis and migrations (${config.name})`,
      config,
      network: this.network,
      // Deleting the data stack would take the database with it; CloudFormation asks first.
      terminationProtection: config.retainOnDelete,
    });
    this.metrics = new MetricsStack(this, 'Metrics', {
      stackName: stackName('metrics'),
      description: `AuraLink AIC frame event stream, its consumer and Parquet archive (${config.name})`,
      config,
      network: this.network,
      data: this.data,
    });
    this.edge = new EdgeStack(this, 'Edge', {
      stackName: stackName('edge'),
      description: `AuraLink AIC web ACL of the HTTP API's CloudFront (${config.name})`,
      config,
    });
    this.api = new ApiStack(this, 'Api', {
      stackName: stackName('api'),
      description: `AuraLink AIC HTTP API, Lambda functions and CloudFront (${config.name})`,
      config,
      network: this.network,
      data: this.data,
      metrics: this.metrics,
    });
    // The API stack reads the web ACL's ARN at deploy time: no reference orders the two for it.
    this.api.addStackDependency(this.edge, 'reads the web ACL ARN from its SSM parameter');
    this.grpc = new GrpcStack(this, 'Grpc', {
      stackName: stackName('grpc'),
      description: `AuraLink AIC gRPC service on Fargate behind an NLB (${config.name})`,
      config,
      network: this.network,
      data: this.data,
      tokenIssuer: this.api.tokenIssuer,
      metrics: this.metrics,
    });
    this.observability = new ObservabilityStack(this, 'Observability', {
      stackName: stackName('observability'),
      description: `AuraLink AIC dashboard and alarms (${config.name})`,
      config,
      api: this.api,
      grpc: this.grpc,
      data: this.data,
      metrics: this.metrics,
    });
  }
}
