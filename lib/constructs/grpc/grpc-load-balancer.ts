import { Duration, Validations } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import type { FargateService } from 'aws-cdk-lib/aws-ecs';
import {
  AlpnPolicy,
  type INetworkListener,
  NetworkLoadBalancer,
  NetworkTargetGroup,
  Protocol,
  SslPolicy,
  TargetType,
} from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { GRPC_PORT, METRICS_PORT, TLS_LISTENER_PORT } from './grpc-addresses.ts';
import { NlbAccessLogs } from './nlb-access-logs.ts';

/** Properties of {@link GrpcLoadBalancer}. */
export interface GrpcLoadBalancerProps {
  /** The environment it is deployed to; its certificate decides between TLS and plain TCP. */
  readonly config: EnvironmentConfig;
  /** The VPC of the load balancer. */
  readonly vpc: IVpc;
  /** Where the load balancer's nodes run: the public subnets. */
  readonly subnets: SubnetSelection;
  /** The load balancer's security group. */
  readonly securityGroup: ISecurityGroup;
  /** The service whose tasks receive the calls. */
  readonly service: FargateService;
}

/**
 * The internet-facing Network Load Balancer of the gRPC service, with its access logs: one target
 * group of task IPs, health-checked on /health, and the client-facing listener, which terminates
 * TLS on 443 and negotiates HTTP/2 when the environment has a certificate, and is plain TCP on the
 * gRPC port otherwise (dev).
 */
export class GrpcLoadBalancer extends FlatConstruct {
  /** The Network Load Balancer. */
  readonly loadBalancer: NetworkLoadBalancer;
  /** The target group of the tasks. */
  readonly targetGroup: NetworkTargetGroup;
  /** The client-facing listener: TLS on 443, or TCP on {@link GRPC_PORT} without a certificate. */
  readonly listener: INetworkListener;
  /** The access log bucket. */
  readonly accessLogs: NlbAccessLogs;

  constructor(scope: Construct, id: string, props: GrpcLoadBalancerProps) {
    super(scope, id);
    const { config } = props;
    this.loadBalancer = new NetworkLoadBalancer(this.host, 'LoadBalancer', {
      loadBalancerName: `auralink-aic-${config.name}-grpc`,
      vpc: props.vpc,
      internetFacing: true,
      vpcSubnets: props.subnets,
      securityGroups: [props.securityGroup],
      crossZoneEnabled: true,
      // Protected where the environment's resources outlive its stacks (prod).
      deletionProtection: config.retainOnDelete,
    });
    if (!config.retainOnDelete) {
      Validations.of(this.loadBalancer).acknowledge({
        id: 'NIST.800.53.R5-ELBDeletionProtectionEnabled',
        reason:
          'This environment is configured to be torn down with its stacks (retainOnDelete false): ' +
          'the load balancer holds no state, is recreated by the next deployment, and deletion ' +
          'protection would only make the stack deletion fail.',
      });
    }
    this.accessLogs = new NlbAccessLogs(this.host, 'AccessLogs', {
      loadBalancer: this.loadBalancer,
      retentionDays: config.logRetentionDays,
      prefix: 'grpc',
    });
    this.targetGroup = this.createTargetGroup(props);
    props.service.attachToNetworkTargetGroup(this.targetGroup);
    this.listener = this.addListener(config.grpc.certificateArn);
  }

  /** The tasks' IPs on the gRPC port, healthy while /health answers. */
  private createTargetGroup(props: GrpcLoadBalancerProps): NetworkTargetGroup {
    return new NetworkTargetGroup(this.host, 'Targets', {
      vpc: props.vpc,
      port: GRPC_PORT,
      // The load balancer terminates TLS; the task speaks HTTP/2 cleartext on the gRPC port.
      protocol: Protocol.TCP,
      targetType: TargetType.IP,
      // Shorter than the task's 30 s stop timeout: in-flight calls drain before SIGTERM's deadline.
      deregistrationDelay: Duration.seconds(25),
      healthCheck: {
        protocol: Protocol.HTTP,
        port: String(METRICS_PORT),
        path: '/health',
        interval: Duration.seconds(10),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
    });
  }

  /** TLS on 443 with the certificate; plain TCP on the gRPC port without one. */
  private addListener(certificateArn: string | undefined): INetworkListener {
    const defaultTargetGroups = [this.targetGroup];
    if (!certificateArn) {
      const listener = this.loadBalancer.addListener('TcpListener', {
        port: GRPC_PORT,
        protocol: Protocol.TCP,
        defaultTargetGroups,
      });
      Validations.of(listener).acknowledge({
        id: 'NIST.800.53.R5-ELBv2ACMCertificateRequired',
        reason:
          'Only an environment without grpc.certificateArn (dev; the schema requires one in ' +
          'staging and prod) listens in plain TCP: it has no certificate to terminate TLS with, ' +
          'and the tokens it receives are those of its own development issuer.',
      });
      return listener;
    }
    return this.loadBalancer.addListener('TlsListener', {
      port: TLS_LISTENER_PORT,
      protocol: Protocol.TLS,
      certificates: [{ certificateArn }],
      sslPolicy: SslPolicy.RECOMMENDED_TLS,
      // gRPC is HTTP/2: clients must negotiate h2 through the TLS handshake.
      alpnPolicy: AlpnPolicy.HTTP2_ONLY,
      defaultTargetGroups,
    });
  }
}
