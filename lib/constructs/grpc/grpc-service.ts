import { Duration } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import {
  Cluster,
  ContainerInsights,
  FargateService,
  type FargateTaskDefinition,
} from 'aws-cdk-lib/aws-ecs';
import { DnsRecordType } from 'aws-cdk-lib/aws-servicediscovery';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { SERVICE_DISCOVERY_NAME, serviceDiscoveryNamespace } from './grpc-addresses.ts';

/** Properties of {@link GrpcService}. */
export interface GrpcServiceProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The VPC of the cluster and its private DNS namespace. */
  readonly vpc: IVpc;
  /** Where the tasks run: private subnets, no public IP. */
  readonly subnets: SubnetSelection;
  /** The task to run. */
  readonly taskDefinition: FargateTaskDefinition;
  /** The tasks' security group. */
  readonly securityGroup: ISecurityGroup;
}

/**
 * The ECS cluster (Container Insights on) and the Fargate service that keeps the environment's
 * tasks running: rolling deployments that never drop below the desired count, rolled back by the
 * circuit breaker when new tasks fail, and a Cloud Map A record per task in the environment's
 * private DNS namespace, where Prometheus discovers them.
 */
export class GrpcService extends FlatConstruct {
  /** The ECS cluster. */
  readonly cluster: Cluster;
  /** The Fargate service. */
  readonly service: FargateService;

  constructor(scope: Construct, id: string, props: GrpcServiceProps) {
    super(scope, id);
    const { config, vpc } = props;
    this.cluster = new Cluster(this.host, 'Cluster', {
      clusterName: `auralink-aic-${config.name}`,
      vpc,
      containerInsightsV2: ContainerInsights.ENABLED,
      defaultCloudMapNamespace: {
        name: serviceDiscoveryNamespace(config.name),
        vpc,
        useForServiceConnect: false,
      },
    });
    this.service = new FargateService(this.host, 'Service', {
      serviceName: `auralink-aic-${config.name}-grpc`,
      cluster: this.cluster,
      taskDefinition: props.taskDefinition,
      desiredCount: config.grpc.desiredCount,
      vpcSubnets: props.subnets,
      securityGroups: [props.securityGroup],
      assignPublicIp: false,
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      healthCheckGracePeriod: Duration.seconds(60),
      cloudMapOptions: {
        name: SERVICE_DISCOVERY_NAME,
        dnsRecordType: DnsRecordType.A,
        dnsTtl: Duration.seconds(10),
      },
    });
  }
}
