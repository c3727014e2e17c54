import { RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  type InterfaceVpcEndpoint,
  InterfaceVpcEndpointAwsService,
  IpAddresses,
  Peer,
  Port,
  SecurityGroup,
  type SubnetSelection,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment-config.ts';
import { logEncryptionKey } from '../constructs/security/log-encryption-key.ts';
import { ManagedPolicyRole } from '../constructs/security/managed-policy-role.ts';

/** Subnet group names, for selecting subnets in the other stacks. */
export const SUBNET_GROUPS = {
  /** The load balancer (and NAT gateways, when configured): nothing else runs there. */
  public: 'public',
  /** Lambda functions and Fargate tasks. */
  app: 'app',
  /** RDS, RDS Proxy and ElastiCache: no route out of the VPC, ever. */
  data: 'data',
} as const;

/**
 * AWS APIs the functions and tasks call from private subnets, each reached through an interface
 * endpoint so no traffic needs the internet: secrets at start-up and rotation, logs (awslogs
 * driver), image pulls (ECR), traces (X-Ray).
 */
const INTERFACE_ENDPOINTS = {
  SecretsManager: InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  Logs: InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  EcrApi: InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: InterfaceVpcEndpointAwsService.ECR_DOCKER,
  XRay: InterfaceVpcEndpointAwsService.XRAY,
} as const;

/** Properties of {@link NetworkStack}. */
export interface NetworkStackProps extends StackProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
}

/**
 * The VPC of one environment: public subnets for the load balancer (no public IP assigned to
 * anything launched there), application subnets for functions and tasks (isolated unless NAT
 * gateways are configured), isolated data subnets, VPC endpoints for the AWS services the
 * application calls, and flow logs of rejected traffic in an encrypted log group.
 */
export class NetworkStack extends Stack {
  /** The VPC. */
  readonly vpc: Vpc;
  /** Security group of the interface endpoints (HTTPS from inside the VPC). */
  readonly endpointsSecurityGroup: SecurityGroup;
  /** The interface endpoint of Secrets Manager (the rotation function is given it explicitly). */
  readonly secretsManagerEndpoint: InterfaceVpcEndpoint;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.vpc = this.createVpc(config);
    this.acknowledgePublicSubnets();
    this.addRejectedTrafficLogs(config);
    this.endpointsSecurityGroup = new SecurityGroup(this, 'EndpointsSecurityGroup', {
      vpc: this.vpc,
      description: 'VPC interface endpoints: HTTPS from inside the VPC',
      allowAllOutbound: false,
    });
    this.endpointsSecurityGroup.addIngressRule(
      Peer.ipv4(config.network.vpcCidr),
      Port.tcp(443),
      'HTTPS to AWS APIs from the VPC',
    );
    this.secretsManagerEndpoint = this.addEndpoints().SecretsManager;
  }

  /** The VPC with its three subnet groups in two Availability Zones. */
  private createVpc(config: EnvironmentConfig): Vpc {
    const { natGateways } = config.network;
    return new Vpc(this, 'Vpc', {
      vpcName: `auralink-aic-${config.name}`,
      ipAddresses: IpAddresses.cidr(config.network.vpcCidr),
      // The most an environment-agnostic stack can address (Availability Zones are resolved at
      // deploy time); enough for Multi-AZ RDS and ElastiCache.
      maxAzs: 2,
      natGateways,
      subnetConfiguration: [
        {
          name: SUBNET_GROUPS.public,
          subnetType: SubnetType.PUBLIC,
          cidrMask: 24,
          // The NAT gateways have Elastic IPs and the load balancer addresses of its own; no
          // instance, task or interface launched there may get a public IP by default.
          mapPublicIpOnLaunch: false,
        },
        {
          name: SUBNET_GROUPS.app,
          subnetType:
            natGateways > 0 ? SubnetType.PRIVATE_WITH_EGRESS : SubnetType.PRIVATE_ISOLATED,
          cidrMask: 22,
        },
        { name: SUBNET_GROUPS.data, subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // Nothing uses the default security group, which would allow all traffic between its
      // members: CDK strips its rules at deploy time.
      restrictDefaultSecurityGroup: true,
    });
  }

  /** The public subnets' default route to the internet gateway is what makes them public. */
  private acknowledgePublicSubnets(): void {
    for (const subnet of this.vpc.publicSubnets) {
      const route = subnet.node.tryFindChild('DefaultRoute');
      if (!route) throw new Error(`Public subnet ${subnet.node.path} has no default route`);
      Validations.of(route).acknowledge({
        id: 'NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW',
        reason:
          'The route to the internet gateway is what the public subnets exist for: they hold ' +
          'only the NAT gateways and the internet-facing gRPC load balancer, whose security ' +
          'group opens the listener port alone; the application and data subnets have no such ' +
          'route.',
      });
    }
  }

  /**
   * Flow logs of the rejected traffic, in a log group with the environment's retention and the
   * stack's log key, written with a role whose one managed policy may write only there.
   */
  private addRejectedTrafficLogs(config: EnvironmentConfig): void {
    const flowLogs = new LogGroup(this, 'FlowLogs', {
      logGroupName: `/auralink/aic/${config.name}/vpc-flow-logs`,
      retention: config.logRetentionDays,
      // VPC Flow Logs write through CloudWatch Logs, which encrypts with the key itself.
      encryptionKey: logEncryptionKey(this, config),
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const role = new ManagedPolicyRole(this, 'FlowLogRole', {
      assumedBy: new ServicePrincipal('vpc-flow-logs.amazonaws.com'),
      description: `AuraLink AIC VPC flow logs (${config.name})`,
    });
    const flowLog = this.vpc.addFlowLog('FlowLog', {
      destination: FlowLogDestination.toCloudWatchLogs(flowLogs, role),
      // Rejections are what an investigation needs (a blocked port, a probe); accepted traffic
      // would multiply the log volume of every frame upload.
      trafficType: FlowLogTrafficType.REJECT,
    });
    // Delivery starts with the flow log: the role's policy must exist by then, not only the role.
    flowLog.node.addDependency(role);
  }

  /**
   * The interface endpoints of {@link INTERFACE_ENDPOINTS} in the application subnets, and the S3
   * gateway endpoint.
   */
  private addEndpoints(): Record<keyof typeof INTERFACE_ENDPOINTS, InterfaceVpcEndpoint> {
    const subnets: SubnetSelection = { subnetGroupName: SUBNET_GROUPS.app };
    const endpoints = Object.fromEntries(
      Object.entries(INTERFACE_ENDPOINTS).map(([name, service]) => [
        name,
        this.vpc.addInterfaceEndpoint(`${name}Endpoint`, {
          service,
          subnets,
          securityGroups: [this.endpointsSecurityGroup],
          open: false,
          privateDnsEnabled: true,
        }),
      ]),
    ) as Record<keyof typeof INTERFACE_ENDPOINTS, InterfaceVpcEndpoint>;
    // Image layers come from S3; a gateway endpoint costs nothing.
    this.vpc.addGatewayEndpoint('S3Endpoint', {
      service: GatewayVpcEndpointAwsService.S3,
      subnets: [subnets],
    });
    return endpoints;
  }
}
