import { Duration, IgnoreMode, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import {
  AwsLogDriverMode,
  ContainerImage,
  CpuArchitecture,
  FargateTaskDefinition,
  type HealthCheck,
  LogDrivers,
  OperatingSystemFamily,
  Protocol,
} from 'aws-cdk-lib/aws-ecs';
import { type IRole, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  type EnvironmentConfig,
  parallelEncodesEnvironment,
  tenantEnvironment,
} from '../../config/environment-config.ts';
import { REPO_ROOT } from '../../paths.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../aic-function.ts';
import type { DataAccess } from '../data/data-access.ts';
import { FlatConstruct } from '../flat-construct.ts';
import type { FrameEventProducerAccess } from '../metrics/frame-event-stream.ts';
import { logEncryptionKey } from '../security/log-encryption-key.ts';
import { ManagedPolicyRole } from '../security/managed-policy-role.ts';
import type { TokenIssuer } from '../token-issuer.ts';
import { GRPC_PORT, METRICS_PORT } from './grpc-addresses.ts';

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

/** Liveness only (the process serves); the same probe as the Dockerfile's HEALTHCHECK. */
const HEALTH_CHECK: HealthCheck = {
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
};

/** Properties of {@link GrpcTask}. */
export interface GrpcTaskProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** Postgres and Redis, which the task connects to. */
  readonly data: DataAccess;
  /** Who signs the tokens the service accepts (the HTTP API's issuer). */
  readonly tokenIssuer: TokenIssuer;
  /** The metrics stream, which the task appends every answered frame's event to. */
  readonly metrics: FrameEventProducerAccess;
}

/**
 * How long the task waits for more frame events before one append (`METRICS_BATCH_LINGER_MS`):
 * the frames its streams answer within the same 5 ms share one PutRecords call instead of one
 * each, for at most 5 ms more before a frame's answer (which waits for its append).
 */
export const METRICS_BATCH_LINGER_MS = 5;

/**
 * The task of the gRPC service: an arm64 Fargate task definition running the image built from
 * functions/grpc/Dockerfile, its (encrypted) log group, a task role that may connect to the
 * database through the proxy as the app role, connect to Redis as the services' user and append
 * to the metrics stream, and an execution role that may pull the image and write the log group.
 * Each role keeps its grants in one managed policy of its own. The container is configured by
 * environment variables that hold no secret.
 */
export class GrpcTask extends FlatConstruct {
  /** The task definition. */
  readonly taskDefinition: FargateTaskDefinition;
  /** The container's log group, with the environment's retention. */
  readonly logGroup: LogGroup;
  /** The role the container runs as (`TaskRole`). */
  readonly taskRole: IRole;
  /** The role ECS pulls the image and ships the logs with (`TaskExecutionRole`). */
  readonly executionRole: IRole;

  constructor(scope: Construct, id: string, props: GrpcTaskProps) {
    super(scope, id);
    const { config, data } = props;
    this.logGroup = new LogGroup(this.host, 'Logs', {
      logGroupName: `/auralink/aic/${config.name}/grpc`,
      retention: config.logRetentionDays,
      // The awslogs driver writes through CloudWatch Logs, which encrypts with the key itself.
      encryptionKey: logEncryptionKey(this.host, config),
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.taskRole = this.role('TaskRole', `AuraLink AIC gRPC task (${config.name})`);
    this.executionRole = this.role(
      'TaskExecutionRole',
      `AuraLink AIC gRPC task start: image pull and logs (${config.name})`,
    );
    this.taskDefinition = new FargateTaskDefinition(this.host, 'Task', {
      family: `auralink-aic-${config.name}-grpc`,
      cpu: config.grpc.cpu,
      memoryLimitMiB: config.grpc.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: CpuArchitecture.ARM64,
        operatingSystemFamily: OperatingSystemFamily.LINUX,
      },
      taskRole: this.taskRole,
      executionRole: this.executionRole,
    });
    // The first task pulls the image and ships logs as soon as the service starts it: the
    // execution role's policy must exist by then, not only the role.
    this.taskDefinition.node.addDependency(this.executionRole);
    // Postgres and Redis both take IAM auth tokens that the task signs itself with its role: no
    // secret to inject, none frozen at task start.
    data.grantConnect(this.taskDefinition.taskRole);
    data.grantRedisConnect(this.taskDefinition.taskRole);
    props.metrics.grantProduce(this.taskDefinition.taskRole);
    this.addContainer(props);
    this.acknowledgeFindings();
  }

  /** A role ECS tasks assume, its grants in one managed policy of its own. */
  private role(id: string, description: string): ManagedPolicyRole {
    return new ManagedPolicyRole(this.host, id, {
      assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com'),
      description,
    });
  }

  /** The gRPC container: image, logs, environment, ports, health check and drain time. */
  private addContainer(props: GrpcTaskProps): void {
    this.taskDefinition.addContainer('grpc', {
      image: ContainerImage.fromAsset(REPO_ROOT, {
        file: 'functions/grpc/Dockerfile',
        platform: Platform.LINUX_ARM64,
        exclude: DOCKER_CONTEXT_EXCLUDES,
        ignoreMode: IgnoreMode.DOCKER,
      }),
      essential: true,
      logging: LogDrivers.awsLogs({
        logGroup: this.logGroup,
        streamPrefix: 'grpc',
        // A full log buffer drops lines instead of blocking the gRPC server.
        mode: AwsLogDriverMode.NON_BLOCKING,
      }),
      environment: containerEnvironment(props),
      portMappings: [
        { name: 'grpc', containerPort: GRPC_PORT, protocol: Protocol.TCP },
        { name: 'metrics', containerPort: METRICS_PORT, protocol: Protocol.TCP },
      ],
      healthCheck: HEALTH_CHECK,
      // SIGTERM drains in-flight calls within GRPC_DRAIN_TIMEOUT_MS (20 s) before SIGKILL.
      stopTimeout: Duration.seconds(30),
    });
  }

  /** The findings of the task definition and its execution role, each with its reason. */
  private acknowledgeFindings(): void {
    const executionPolicy = this.executionRole.node.tryFindChild('Policy');
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
        'The environment holds endpoints, ports, user names and the JWT issuer, none of them ' +
        'secret: the database and Redis both take IAM auth tokens the task signs itself.',
    });
  }
}

/**
 * The container's environment: endpoints, ports, the metrics stream, the token issuer and
 * Powertools settings.
 */
function containerEnvironment(props: GrpcTaskProps): Record<string, string> {
  const { config, data, tokenIssuer, metrics } = props;
  return {
    ...data.databaseEnvironment(),
    ...data.redisEnvironment(),
    ...metrics.producerEnvironment(),
    METRICS_BATCH_LINGER_MS: String(METRICS_BATCH_LINGER_MS),
    GRPC_PORT: String(GRPC_PORT),
    ...parallelEncodesEnvironment(config.grpc.cpu / 1024),
    METRICS_PORT: String(METRICS_PORT),
    // Tokens are checked as the HTTP API's authorizer checks them: the issuer's public keys, its
    // issuer and every audience. No shared signing key exists on AWS.
    AIC_JWT_VERIFY: 'jwks',
    AIC_JWT_ISSUER: tokenIssuer.issuer,
    AIC_JWT_AUDIENCE: tokenIssuer.audience.join(','),
    AIC_JWT_JWKS_URL: tokenIssuer.jwksUrl,
    ...(tokenIssuer.tokenUse ? { AIC_JWT_TOKEN_USE: tokenIssuer.tokenUse } : {}),
    ...(tokenIssuer.scopes ? { AIC_JWT_SCOPES: tokenIssuer.scopes.join(',') } : {}),
    AIC_DEPLOYMENT: 'aws',
    ...tenantEnvironment(config),
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    // The task runs no X-Ray daemon and Prometheus covers it: tracing off also keeps the X-Ray
    // SDK's async hook (it tracks every promise) out of the process.
    POWERTOOLS_TRACE_ENABLED: 'false',
    LOG_LEVEL: config.logLevel,
  };
}
