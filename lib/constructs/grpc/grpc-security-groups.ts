import { Validations } from 'aws-cdk-lib';
import { type IVpc, Peer, Port, type SecurityGroup } from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { DataAccess } from '../data/data-access.ts';
import { PROXY_PORT } from '../data/postgres-database.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { privateSecurityGroup } from '../private-security-group.ts';
import { GRPC_PORT, METRICS_PORT } from './grpc-addresses.ts';

/** Properties of {@link GrpcSecurityGroups}. */
export interface GrpcSecurityGroupsProps {
  /** The VPC of the service. */
  readonly vpc: IVpc;
  /** The VPC's IPv4 block: the destination of egress rules that stay inside the VPC. */
  readonly vpcCidr: string;
  /** Postgres and Redis, which the tasks connect to. */
  readonly data: DataAccess;
  /** The port clients connect to on the load balancer, and whether it speaks TLS. */
  readonly listener: { readonly port: number; readonly tls: boolean };
}

/**
 * Who may talk to whom around the gRPC tasks: the tasks' group (gRPC and health checks from the
 * load balancer, /metrics from the scraper; out only to the proxy, Redis and HTTPS), the load
 * balancer's group (clients on the listener port from the internet) and a group for a Prometheus
 * scraper in the VPC. Every group starts with no egress, so each open port is named here.
 */
export class GrpcSecurityGroups extends FlatConstruct {
  /** The group of the tasks. */
  readonly task: SecurityGroup;
  /** Attach this to a Prometheus scraper in the VPC to let it reach /metrics on the tasks. */
  readonly metricsScraper: SecurityGroup;
  /** The group of the Network Load Balancer. */
  readonly loadBalancer: SecurityGroup;

  constructor(scope: Construct, id: string, props: GrpcSecurityGroupsProps) {
    super(scope, id);
    this.task = this.createTaskGroup(props);
    this.metricsScraper = this.createMetricsScraperGroup(props);
    this.loadBalancer = this.createLoadBalancerGroup(props);
  }

  /** The tasks' group, with its way out to the AWS APIs and the data. */
  private createTaskGroup(props: GrpcSecurityGroupsProps): SecurityGroup {
    const { data } = props;
    const group = privateSecurityGroup(
      this.host,
      'TaskSecurityGroup',
      props.vpc,
      'gRPC tasks: gRPC and health checks from the NLB, /metrics from the scraper',
    );
    // ECR, S3 (image layers), Logs and Secrets Manager: reachable through the VPC endpoints; the
    // application subnets have no other route out unless NAT gateways are configured. The issuer's
    // JWKS (AIC_JWT_JWKS_URL) is on the internet: token checks need network.natGateways >= 1.
    group.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'AWS APIs over HTTPS');
    group.connections.allowTo(
      data.proxyConnections,
      Port.tcp(PROXY_PORT),
      'Postgres via RDS Proxy',
    );
    group.connections.allowTo(data.redisConnections, Port.tcp(data.redisPort), 'Redis over TLS');
    return group;
  }

  /** The scraper's group, and the /metrics port it opens on the tasks. */
  private createMetricsScraperGroup(props: GrpcSecurityGroupsProps): SecurityGroup {
    const group = privateSecurityGroup(
      this.host,
      'MetricsScraperSecurityGroup',
      props.vpc,
      'Prometheus scrapers of the gRPC tasks (attach to the scraper)',
    );
    // Ingress on the tasks names the scraper's group; egress is by CIDR (inline), which also keeps
    // CloudFormation from adding its default allow-all egress to a group without inline rules.
    this.task.addIngressRule(group, Port.tcp(METRICS_PORT), 'Prometheus scrape of /metrics');
    group.addEgressRule(
      Peer.ipv4(props.vpcCidr),
      Port.tcp(METRICS_PORT),
      'Prometheus scrape of /metrics',
    );
    return group;
  }

  /** The load balancer's group: clients in, gRPC and health checks out to the tasks. */
  private createLoadBalancerGroup(props: GrpcSecurityGroupsProps): SecurityGroup {
    const { listener } = props;
    const group = privateSecurityGroup(
      this.host,
      'LoadBalancerSecurityGroup',
      props.vpc,
      'gRPC Network Load Balancer: clients from the internet',
    );
    group.addIngressRule(
      Peer.anyIpv4(),
      Port.tcp(listener.port),
      listener.tls ? 'gRPC over TLS' : 'gRPC in plain TCP (no certificate configured)',
    );
    Validations.of(group).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'The gRPC endpoint is public by design (docs/design.md section 1: gRPC clients -> NLB); every ' +
        'call needs a bearer token, and only the listener port is open.',
    });
    for (const [port, description] of [
      [GRPC_PORT, 'gRPC to the tasks'],
      [METRICS_PORT, 'Target health checks on /health'],
    ] as const) {
      this.task.addIngressRule(group, Port.tcp(port), description);
      group.addEgressRule(Peer.ipv4(props.vpcCidr), Port.tcp(port), description);
    }
    return group;
  }
}
