import {
  CfnOutput,
  Duration,
  IgnoreMode,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import { Peer, Port, SecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import {
  AwsLogDriverMode,
  Cluster,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargateService,
  FargateTaskDefinition,
  LogDrivers,
  OperatingSystemFamily,
  Protocol,
} from 'aws-cdk-lib/aws-ecs';
import {
  AlpnPolicy,
  type INetworkListener,
  Protocol as LbProtocol,
  NetworkLoadBalancer,
  NetworkTargetGroup,
  SslPolicy,
  TargetType,
} from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { DnsRecordType } from 'aws-cdk-lib/aws-servicediscovery';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment-config.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../constructs/aic-function.ts';
import type { TokenIssuer } from '../constructs/token-issuer.ts';
import { REPO_ROOT } from '../paths.ts';
import { type DataStack, PROXY_PORT } from './data-stack.ts';
import { type NetworkStack, SUBNET_GROUPS } from './network-stack.ts';

/** Port of the gRPC service in the container (functions/grpc/settings.ts GRPC_PORT). */
export const GRPC_PORT = 50051;

/** Port of /metrics, /health and /readiness in the container (METRICS_PORT). */
export const METRICS_PORT = 9464;

/** Port of the TLS listener when the environment has a certificate. */
export const TLS_LISTENER_PORT = 443;

/** Cloud Map name of the service: tasks resolve as `grpc.<namespace>` A records. */
export const SERVICE_DISCOVERY_NAME = 'grpc';

/** The private DNS namespace of an environment, where Prometheus discovers the tasks. */
export function serviceDiscoveryNamespace(environment: string): string {
  return `auralink-aic-${environment}.internal`;
}

/**
 * What the image build needs from the repository: the Dockerfile's COPY sources. Everything else
 * (node_modules, cdk.out, tests, .git) stays out of the build context and of the asset hash.
 */
const DOCKER_CONTEXT_EXCLUDES = [
  '*',
  '!package.json',
  '!package-lock.json',
  '!functions',
  '!proto',
  '**/*.test.ts',
];

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
  /** The client-facing listener: TLS on 443, or TCP on {@link GRPC_PORT} without a certificate. */
  readonly listener: INetworkListener;
  /** Attach this to a Prometheus scraper in the VPC to let it reach /metrics on the tasks. */
  readonly metricsScraperSecurityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: GrpcStackProps) {
    super(scope, id, props);
    const { config, network, data } = props;
    const { vpc } = network;
    const removalPolicy = config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.cluster = new Cluster(this, 'Cluster', {
      clusterName: `auralink-aic-${config.name}`,
      vpc,
      containerInsightsV2: ContainerInsights.ENABLED,
      defaultCloudMapNamespace: {
        name: serviceDiscoveryNamespace(config.name),
        vpc,
        useForServiceConnect: false,
      },
    });

    const logGroup = new LogGroup(this, 'Logs', {
      logGroupName: `/auralink/aic/${config.name}/grpc`,
      retention: config.logRetentionDays,
      removalPolicy,
    });

    this.taskDefinition = new FargateTaskDefinition(this, 'Task', {
      family: `auralink-aic-${config.name}-grpc`,
      cpu: config.grpc.cpu,
      memoryLimitMiB: config.grpc.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: CpuArchitecture.ARM64,
        operatingSystemFamily: OperatingSystemFamily.LINUX,
      },
    });
    // Postgres with IAM auth tokens the task signs itself. The Redis token is read by the task and
    // cached until its next rotation (an injected value would be frozen at task start).
    data.grantConnect(this.taskDefinition.taskRole);
    data.redisAuthSecret.grantRead(this.taskDefinition.taskRole);

    this.taskDefinition.addContainer('grpc', {
      image: ContainerImage.fromAsset(REPO_ROOT, {
        file: 'functions/grpc/Dockerfile',
        platform: Platform.LINUX_ARM64,
        exclude: DOCKER_CONTEXT_EXCLUDES,
        ignoreMode: IgnoreMode.DOCKER,
      }),
      essential: true,
      logging: LogDrivers.awsLogs({
        logGroup,
        streamPrefix: 'grpc',
        // A full log buffer drops lines instead of blocking the gRPC server.
        mode: AwsLogDriverMode.NON_BLOCKING,
      }),
      environment: {
        ...data.databaseEnvironment(),
        ...data.redisEnvironment(),
        GRPC_PORT: String(GRPC_PORT),
        METRICS_PORT: String(METRICS_PORT),
        // Tokens are checked as the HTTP API's authorizer checks them: the issuer's public keys,
        // its issuer and every audience. No shared signing key exists on AWS.
        AIC_JWT_VERIFY: 'jwks',
        AIC_JWT_ISSUER: props.tokenIssuer.issuer,
        AIC_JWT_AUDIENCE: props.tokenIssuer.audience.join(','),
        AIC_JWT_JWKS_URL: props.tokenIssuer.jwksUrl,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        // The task runs no X-Ray daemon and Prometheus covers it: tracing off also keeps the X-Ray
        // SDK's async hook (it tracks every promise) out of the process.
        POWERTOOLS_TRACE_ENABLED: 'false',
        LOG_LEVEL: config.logLevel,
      },
      portMappings: [
        { name: 'grpc', containerPort: GRPC_PORT, protocol: Protocol.TCP },
        { name: 'metrics', containerPort: METRICS_PORT, protocol: Protocol.TCP },
      ],
      // Liveness only (the process serves); the same probe as the Dockerfile's HEALTHCHECK.
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `fetch('http://127.0.0.1:${METRICS_PORT}/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
        ],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(3),
        startPeriod: Duration.seconds(20),
        retries: 3,
      },
      // SIGTERM drains in-flight calls within GRPC_DRAIN_TIMEOUT_MS (20 s) before SIGKILL.
      stopTimeout: Duration.seconds(30),
    });
    const executionPolicy = this.taskDefinition.executionRole?.node.tryFindChild('DefaultPolicy');
    if (executionPolicy) {
      Validations.of(executionPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken, which ECS needs to pull the image, supports no resource-level ' +
          'permissions; the image pull itself is scoped to the asset repository and log writes to ' +
          'the log group.',
      });
    }
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds endpoints, ports, the Redis secret ARN and the JWT issuer, none of ' +
        'them secret: the database takes IAM tokens and the task reads the Redis token itself.',
    });

    const taskSecurityGroup = new SecurityGroup(this, 'TaskSecurityGroup', {
      vpc,
      description: 'gRPC tasks: gRPC and health checks from the NLB, /metrics from the scraper',
      allowAllOutbound: false,
    });
    // ECR, S3 (image layers), Logs and Secrets Manager: reachable through the VPC endpoints; the
    // application subnets have no other route out unless NAT gateways are configured. The issuer's
    // JWKS (AIC_JWT_JWKS_URL) is on the internet: token checks need network.natGateways >= 1.
    taskSecurityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'AWS APIs over HTTPS');
    const taskConnections = taskSecurityGroup.connections;
    taskConnections.allowTo(data.proxyConnections, Port.tcp(PROXY_PORT), 'Postgres via RDS Proxy');
    taskConnections.allowTo(data.redisConnections, Port.tcp(data.redisPort), 'Redis over TLS');

    this.metricsScraperSecurityGroup = new SecurityGroup(this, 'MetricsScraperSecurityGroup', {
      vpc,
      description: 'Prometheus scrapers of the gRPC tasks (attach to the scraper)',
      allowAllOutbound: false,
    });
    // Ingress on the tasks names the scraper's group; egress is by CIDR (inline), which also keeps
    // CloudFormation from adding its default allow-all egress to a group without inline rules.
    taskSecurityGroup.addIngressRule(
      this.metricsScraperSecurityGroup,
      Port.tcp(METRICS_PORT),
      'Prometheus scrape of /metrics',
    );
    this.metricsScraperSecurityGroup.addEgressRule(
      Peer.ipv4(config.network.vpcCidr),
      Port.tcp(METRICS_PORT),
      'Prometheus scrape of /metrics',
    );

    this.service = new FargateService(this, 'Service', {
      serviceName: `auralink-aic-${config.name}-grpc`,
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: config.grpc.desiredCount,
      vpcSubnets: { subnetGroupName: SUBNET_GROUPS.app },
      securityGroups: [taskSecurityGroup],
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

    const loadBalancerSecurityGroup = new SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc,
      description: 'gRPC Network Load Balancer: clients from the internet',
      allowAllOutbound: false,
    });
    const certificateArn = config.grpc.certificateArn;
    const listenerPort = certificateArn ? TLS_LISTENER_PORT : GRPC_PORT;
    loadBalancerSecurityGroup.addIngressRule(
      Peer.anyIpv4(),
      Port.tcp(listenerPort),
      certificateArn ? 'gRPC over TLS' : 'gRPC in plain TCP (no certificate configured)',
    );
    Validations.of(loadBalancerSecurityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'The gRPC endpoint is public by design (docs/design.md section 1: gRPC clients -> NLB); every ' +
        'call needs a bearer token, and only the listener port is open.',
    });
    for (const [port, description] of [
      [GRPC_PORT, 'gRPC to the tasks'],
      [METRICS_PORT, 'Target health checks on /health'],
    ] as const) {
      taskSecurityGroup.addIngressRule(loadBalancerSecurityGroup, Port.tcp(port), description);
      loadBalancerSecurityGroup.addEgressRule(
        Peer.ipv4(config.network.vpcCidr),
        Port.tcp(port),
        description,
      );
    }

    const accessLogs = new Bucket(this, 'LoadBalancerAccessLogs', {
      // NLB access logs support SSE-S3 only.
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      lifecycleRules: [{ expiration: Duration.days(config.logRetentionDays) }],
      // Logs outlive the stack; the lifecycle rule empties the bucket over time.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is itself the access-log destination of the load balancer; logging its own ' +
        'reads would need another bucket that logs nowhere.',
    });

    this.loadBalancer = new NetworkLoadBalancer(this, 'LoadBalancer', {
      loadBalancerName: `auralink-aic-${config.name}-grpc`,
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetGroupName: SUBNET_GROUPS.public },
      securityGroups: [loadBalancerSecurityGroup],
      crossZoneEnabled: true,
      deletionProtection: config.retainOnDelete,
    });
    // NLB access logs arrive through the log delivery service. (logAccessLogs would need the
    // region at synth time for the classic ELB account principal.)
    const accessLogPrefix = 'grpc';
    accessLogs.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('delivery.logs.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [accessLogs.arnForObjects(`${accessLogPrefix}/AWSLogs/${this.account}/*`)],
        conditions: {
          StringEquals: {
            's3:x-amz-acl': 'bucket-owner-full-control',
            'aws:SourceAccount': this.account,
          },
        },
      }),
    );
    accessLogs.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('delivery.logs.amazonaws.com')],
        actions: ['s3:GetBucketAcl'],
        resources: [accessLogs.bucketArn],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    this.loadBalancer.setAttribute('access_logs.s3.enabled', 'true');
    this.loadBalancer.setAttribute('access_logs.s3.bucket', accessLogs.bucketName);
    this.loadBalancer.setAttribute('access_logs.s3.prefix', accessLogPrefix);
    if (accessLogs.policy) this.loadBalancer.node.addDependency(accessLogs.policy);

    const targetGroup = new NetworkTargetGroup(this, 'Targets', {
      vpc,
      port: GRPC_PORT,
      // The load balancer terminates TLS; the task speaks HTTP/2 cleartext on the gRPC port.
      protocol: LbProtocol.TCP,
      targetType: TargetType.IP,
      // Shorter than the task's 30 s stop timeout: in-flight calls drain before SIGTERM's deadline.
      deregistrationDelay: Duration.seconds(25),
      healthCheck: {
        protocol: LbProtocol.HTTP,
        port: String(METRICS_PORT),
        path: '/health',
        interval: Duration.seconds(10),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
    });
    this.service.attachToNetworkTargetGroup(targetGroup);

    this.listener = certificateArn
      ? this.loadBalancer.addListener('TlsListener', {
          port: TLS_LISTENER_PORT,
          protocol: LbProtocol.TLS,
          certificates: [{ certificateArn }],
          sslPolicy: SslPolicy.RECOMMENDED_TLS,
          // gRPC is HTTP/2: clients must negotiate h2 through the TLS handshake.
          alpnPolicy: AlpnPolicy.HTTP2_ONLY,
          defaultTargetGroups: [targetGroup],
        })
      : this.loadBalancer.addListener('TcpListener', {
          port: GRPC_PORT,
          protocol: LbProtocol.TCP,
          defaultTargetGroups: [targetGroup],
        });

    new CfnOutput(this, 'GrpcEndpoint', {
      description: certificateArn
        ? 'gRPC endpoint (TLS; point a DNS name of the certificate at it)'
        : 'gRPC endpoint (plain TCP: no certificate configured for this environment)',
      value: `${this.loadBalancer.loadBalancerDnsName}:${listenerPort}`,
    });
  }
}
