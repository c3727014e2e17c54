import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { SecurityGroup } from 'aws-cdk-lib/aws-ec2';
import type { Cluster, FargateService, FargateTaskDefinition } from 'aws-cdk-lib/aws-ecs';
import type {
  INetworkListener,
  NetworkLoadBalancer,
  NetworkTargetGroup,
} from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment-config.ts';
import { listenerPort } from '../constructs/grpc/grpc-addresses.ts';
import { GrpcLoadBalancer } from '../constructs/grpc/grpc-load-balancer.ts';
import { GrpcSecurityGroups } from '../constructs/grpc/grpc-security-groups.ts';
import { GrpcService } from '../constructs/grpc/grpc-service.ts';
import { GrpcTask } from '../constructs/grpc/grpc-task.ts';
import type { FrameEventProducerAccess } from '../constructs/metrics/frame-event-stream.ts';
import type { TokenIssuer } from '../constructs/token-issuer.ts';
import type { DataStack } from './data-stack.ts';
import { type NetworkStack, SUBNET_GROUPS } from './network-stack.ts';

/** Properties of {@link GrpcStack}. */
export interface GrpcStackProps extends StackProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The environment's network. */
  readonly network: NetworkStack;
  /** Postgres and Redis. */
  readonly data: DataStack;
  /** Who signs the tokens the service accepts (the HTTP API's issuer). */
  readonly tokenIssuer: TokenIssuer;
  /** The metrics stream, which the tasks append every answered frame's event to. */
  readonly metrics: FrameEventProducerAccess;
}

/**
 * The gRPC service of one environment: Fargate tasks (arm64) built from functions/grpc/Dockerfile,
 * in the application subnets, behind an internet-facing Network Load Balancer that terminates TLS
 * on 443 (dev without a certificate: plain TCP on the gRPC port). Tasks register in a private DNS
 * namespace, so Prometheus inside the VPC can discover and scrape them.
 */
export class GrpcStack extends Stack {
  /** The ECS cluster. */
  readonly cluster: Cluster;
  /** The task definition. */
  readonly taskDefinition: FargateTaskDefinition;
  /** The Fargate service. */
  readonly service: FargateService;
  /** The Network Load Balancer. */
  readonly loadBalancer: NetworkLoadBalancer;
  /** The client-facing listener: TLS on 443, or TCP on the gRPC port without a certificate. */
  readonly listener: INetworkListener;
  /** The target group of the tasks behind the listener (its healthy and unhealthy host counts). */
  readonly targetGroup: NetworkTargetGroup;
  /** Attach this to a Prometheus scraper in the VPC to let it reach /metrics on the tasks. */
  readonly metricsScraperSecurityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: GrpcStackProps) {
    super(scope, id, props);
    const { config, network, data } = props;
    const { vpc } = network;
    const { certificateArn } = config.grpc;

    const task = new GrpcTask(this, 'GrpcTask', {
      config,
      data,
      tokenIssuer: props.tokenIssuer,
      metrics: props.metrics,
    });
    this.taskDefinition = task.taskDefinition;

    const securityGroups = new GrpcSecurityGroups(this, 'GrpcSecurityGroups', {
      vpc,
      vpcCidr: config.network.vpcCidr,
      data,
      listener: { port: listenerPort(certificateArn), tls: Boolean(certificateArn) },
    });
    this.metricsScraperSecurityGroup = securityGroups.metricsScraper;

    const service = new GrpcService(this, 'GrpcService', {
      config,
      vpc,
      subnets: { subnetGroupName: SUBNET_GROUPS.app },
      taskDefinition: this.taskDefinition,
      securityGroup: securityGroups.task,
    });
    this.cluster = service.cluster;
    this.service = service.service;

    const loadBalancer = new GrpcLoadBalancer(this, 'GrpcLoadBalancer', {
      config,
      vpc,
      subnets: { subnetGroupName: SUBNET_GROUPS.public },
      securityGroup: securityGroups.loadBalancer,
      service: this.service,
    });
    this.loadBalancer = loadBalancer.loadBalancer;
    this.listener = loadBalancer.listener;
    this.targetGroup = loadBalancer.targetGroup;

    new CfnOutput(this, 'GrpcEndpoint', {
      description: certificateArn
        ? 'gRPC endpoint (TLS; point a DNS name of the certificate at it)'
        : 'gRPC endpoint (plain TCP: no certificate configured for this environment)',
      value: `${this.loadBalancer.loadBalancerDnsName}:${listenerPort(certificateArn)}`,
    });
  }
}
