import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type IVpc, Peer, Port, type SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, type Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type ILayerVersion, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import {
  type BundlingOptions,
  NodejsFunction,
  type NodejsFunctionProps,
  OutputFormat,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  FUNCTION_ENTRIES,
  type FunctionName,
  SCHEDULED_FUNCTIONS,
  type ScheduledFunctionName,
} from '../../functions/core/contracts/routes.ts';
import {
  AUTHORIZER_FUNCTIONS,
  type AuthorizerFunctionName,
} from '../config/authorizer-functions.ts';
import {
  DEPLOY_FUNCTION_CONCURRENCY,
  DEPLOY_FUNCTIONS,
  type DeployFunctionName,
} from '../config/deploy-functions.ts';
import {
  type EnvironmentConfig,
  MIB_PER_VCPU,
  parallelEncodesEnvironment,
  type ReservedFunctionName,
  tenantEnvironment,
} from '../config/environment-config.ts';
import { type AicFunctionName, FUNCTION_SIZING } from '../config/function-sizing.ts';
import { NODE_FLAGS_WRAPPER, NODE_HEAP_FLAGS, PIXEL_PROCESS_ENV } from '../config/node-flags.ts';
import { STREAM_FUNCTIONS, type StreamFunctionName } from '../config/stream-functions.ts';
import { REPO_ROOT, repoPath } from '../paths.ts';
import { logEncryptionKey } from './security/log-encryption-key.ts';
import { ManagedPolicyRole } from './security/managed-policy-role.ts';

/** Powertools service name shared by every function, so logs, metrics and traces line up. */
export const SERVICE_NAME = 'auralink-aic';

/** CloudWatch namespace of the service's EMF metrics. */
export const METRICS_NAMESPACE = 'AuraLink/AIC';

/**
 * Lets esbuild's ESM output load the CommonJS dependencies (Powertools, the AWS SDK helpers) that
 * call `require` at run time; without it they fail with "Dynamic require of ... is not supported".
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module';const require = createRequire(import.meta.url);";

/** How a function is invoked, which decides what a failed invocation means. */
export type AicFunctionKind = 'api' | 'authorizer' | 'scheduled' | 'stream' | 'deploy';

/** The kind and entry point (relative to the repository root) of a function. */
export function functionEntry(name: AicFunctionName): { kind: AicFunctionKind; entry: string } {
  if (name in SCHEDULED_FUNCTIONS) {
    return { kind: 'scheduled', entry: SCHEDULED_FUNCTIONS[name as ScheduledFunctionName].entry };
  }
  if (name in AUTHORIZER_FUNCTIONS) {
    return {
      kind: 'authorizer',
      entry: AUTHORIZER_FUNCTIONS[name as AuthorizerFunctionName].entry,
    };
  }
  if (name in STREAM_FUNCTIONS) {
    return { kind: 'stream', entry: STREAM_FUNCTIONS[name as StreamFunctionName].entry };
  }
  if (name in DEPLOY_FUNCTIONS) {
    return { kind: 'deploy', entry: DEPLOY_FUNCTIONS[name as DeployFunctionName].entry };
  }
  return { kind: 'api', entry: FUNCTION_ENTRIES[name as FunctionName] };
}

/**
 * Why a dead-letter queue has nothing to hold, per kind of function invoked only synchronously.
 * Scheduled functions are invoked asynchronously and get one ({@link AicFunction.deadLetterQueue}).
 */
const NO_DLQ_REASON: Readonly<Record<Exclude<AicFunctionKind, 'scheduled'>, string>> = {
  api:
    'Only API Gateway invokes this function, synchronously: failures go back to the caller ' +
    'as HTTP errors. A dead-letter queue only ever receives asynchronous invocations.',
  authorizer:
    'Only API Gateway invokes this authorizer, synchronously, before a route: a failure refuses ' +
    'that request. A dead-letter queue only ever receives asynchronous invocations.',
  stream:
    'Only its Kinesis event source mapping invokes this function, synchronously, with batches ' +
    'of records; a batch that fails every retry is recorded by the mapping in its on-failure ' +
    'destination (an SQS queue). A dead-letter queue only ever receives asynchronous invocations.',
  deploy:
    'CloudFormation invokes this function synchronously during the deployment and fails the ' +
    'deployment (rolling it back) on error; there is no asynchronous invocation to keep.',
};

/** Where a function attached to the VPC runs. */
export interface AicFunctionNetwork {
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection;
}

/** Properties of {@link AicFunction}. */
export interface AicFunctionProps {
  /** Which function to build; selects its entry and sizing. */
  readonly functionName: AicFunctionName;
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The sharp layer; required when the function's sizing says it needs sharp, unused otherwise. */
  readonly sharpLayer?: ILayerVersion;
  /**
   * The VPC to run in, with a security group of its own that allows no egress but HTTPS inside the
   * VPC (the interface endpoints); callers open the ports it needs (`function.connections.allowTo`).
   */
  readonly network?: AicFunctionNetwork;
  /** Environment variables besides the Powertools ones: endpoints and secret ARNs, never values. */
  readonly environment?: Readonly<Record<string, string>>;
}

/** How esbuild bundles every function: minified ESM for Node.js 22 with a source map. */
const BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node22',
  banner: ESM_REQUIRE_BANNER,
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  // Stack traces need the mappings, not the sources: leaving the sources out of the map keeps the
  // deployment zip small.
  sourcesContent: false,
  // The runtime provides the Secrets Manager client; @aws-sdk/rds-signer is bundled (with its
  // credential chain), since the runtime's SDK is not documented to include it. sharp comes from a
  // layer with its arm64 binary.
  externalModules: ['@aws-sdk/client-secrets-manager', 'sharp'],
};

/**
 * What AWSLambdaVPCAccessExecutionRole grants, inline: Lambda manages the function's network
 * interfaces with these at create and update time.
 */
const VPC_ACCESS_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

/** Why the function stays on Node.js 22 although cdk-nag asks for the latest runtime. */
const RUNTIME_REASON =
  'Node.js 22 is the runtime fixed by the design (docs/design.md section 6); moving to a newer ' +
  'runtime is a deliberate, tested upgrade, not a silent one.';

/** Why a dead-letter queue has no queue of its own to redrive to. */
const DEAD_LETTER_QUEUE_REASON =
  'This queue is itself the dead-letter queue of a scheduled function and of its schedule: the ' +
  'end of the line, counted by an alarm and read by an operator, with nowhere further to go.';

/**
 * One Lambda function: Node.js 22 on arm64, bundled locally by esbuild as ESM, with its own log
 * group (encrypted with the stack's log key), X-Ray tracing, a reserved concurrency and a role
 * whose one managed policy may only write to that log group and to X-Ray (and manage its network
 * interfaces when in the VPC). Functions that need sharp get the sharp layer, and only those;
 * scheduled functions, the only ones invoked asynchronously, get a dead-letter queue.
 */
export class AicFunction extends Construct {
  /** The Lambda function. */
  readonly function: NodejsFunction;
  /** The function's log group, with the environment's retention. */
  readonly logGroup: LogGroup;
  /**
   * Scheduled functions only (undefined for the others, which are invoked synchronously): where
   * Lambda and the schedule put every run that failed, could not start within its minute or could
   * not be delivered. SSE-SQS, TLS only, kept 14 days; nothing replays them (the next run
   * supersedes a failed one), so a visible message means the runs are failing: alarm on it.
   */
  readonly deadLetterQueue?: Queue;

  constructor(scope: Construct, id: string, props: AicFunctionProps) {
    super(scope, id);
    const { functionName, config, network } = props;
    const sizing = FUNCTION_SIZING[functionName];
    this.logGroup = new LogGroup(this, 'LogGroup', {
      logGroupName: `/auralink/aic/${config.name}/lambda/${functionName}`,
      retention: config.logRetentionDays,
      encryptionKey: logEncryptionKey(this, config),
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const role = this.createRole(props);
    if (functionEntry(functionName).kind === 'scheduled') {
      this.deadLetterQueue = this.createDeadLetterQueue(props);
    }

    this.function = new NodejsFunction(this, 'Function', {
      description: `AuraLink AIC ${functionName} (${config.name})`,
      entry: repoPath(functionEntry(functionName).entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: repoPath('package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: memoryOf(props),
      timeout: Duration.seconds(sizing.timeoutSeconds),
      reservedConcurrentExecutions: reservedConcurrency(props),
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      role,
      layers: functionLayers(props),
      ...(network
        ? { vpc: network.vpc, vpcSubnets: network.subnets, allowAllOutbound: false }
        : {}),
      ...asyncInvocation(this.deadLetterQueue),
      environment: functionEnvironment(props),
      bundling: BUNDLING,
    });

    if (network) {
      // An inline (CIDR) rule on purpose: a group whose egress rules all reference other groups is
      // rendered without inline egress, and CloudFormation then keeps its default allow-all rule.
      this.function.connections.allowTo(
        Peer.ipv4(config.network.vpcCidr),
        Port.tcp(443),
        'AWS APIs (Secrets Manager, X-Ray) through the VPC endpoints',
      );
    }
    this.acknowledgeFindings(props, role);
  }

  /**
   * An explicit role instead of the default one: AWSLambdaBasicExecutionRole would allow writing
   * to every log group of the account. Its grants go into one managed policy of its own.
   */
  private createRole({ functionName, config, network }: AicFunctionProps): Role {
    const role = new ManagedPolicyRole(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `AuraLink AIC ${functionName} function (${config.name})`,
    });
    this.logGroup.grantWrite(role);
    if (network) {
      role.addToPolicy(new PolicyStatement({ actions: VPC_ACCESS_ACTIONS, resources: ['*'] }));
    }
    return role;
  }

  /**
   * The dead-letter queue of a scheduled function. SSE-SQS rather than a customer-managed key:
   * EventBridge could send to the latter only through a key policy of its own, and the messages
   * hold the schedule's event (its time and rule), no data.
   */
  private createDeadLetterQueue({ functionName, config }: AicFunctionProps): Queue {
    const queue = new Queue(this, 'DeadLetterQueue', {
      queueName: `auralink-aic-${config.name}-${functionName}-dlq`,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(queue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: DEAD_LETTER_QUEUE_REASON,
    });
    return queue;
  }

  /** The findings of the function and its role, each with its reason. */
  private acknowledgeFindings({ functionName, network }: AicFunctionProps, role: Role): void {
    Validations.of(this.function).acknowledge(
      { id: 'AwsSolutions-L1', reason: RUNTIME_REASON },
      { id: 'Serverless-LambdaLatestVersion', reason: RUNTIME_REASON },
    );
    const { kind } = functionEntry(functionName);
    if (kind !== 'scheduled') {
      Validations.of(this.function).acknowledge(
        { id: 'Serverless-LambdaDLQ', reason: NO_DLQ_REASON[kind] },
        { id: 'NIST.800.53.R5-LambdaDLQ', reason: NO_DLQ_REASON[kind] },
      );
    }
    const invokeConfig = this.function.node.tryFindChild('EventInvokeConfig');
    if (invokeConfig) {
      Validations.of(invokeConfig).acknowledge({
        id: 'Serverless-LambdaAsyncFailureDestination',
        reason:
          "Failed and expired asynchronous invocations go to the function's dead-letter queue; " +
          'an on-failure destination would record every one of them a second time.',
      });
    }
    const policy = role.node.tryFindChild('Policy');
    if (policy) {
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Added by Tracing.ACTIVE for xray:PutTraceSegments and xray:PutTelemetryRecords, which ' +
          'support no resource-level permissions' +
          (network
            ? ', and for the network interface actions Lambda needs in a VPC, whose Describe ' +
              'actions support none either and whose interfaces do not exist before the call'
            : '') +
          '; log writes are scoped to this log group, secret reads to their ARNs.',
      });
    }
  }
}

/**
 * The most instances the function may run, and capacity no other function can take: what
 * `cdk.json` reserves for it (docs/design.md section 6), which also bounds its connections to RDS
 * Proxy, or {@link DEPLOY_FUNCTION_CONCURRENCY} for a deploy-time function.
 */
function reservedConcurrency({ functionName, config }: AicFunctionProps): number {
  return functionEntry(functionName).kind === 'deploy'
    ? DEPLOY_FUNCTION_CONCURRENCY
    : config.lambda.reservedConcurrency[functionName as ReservedFunctionName];
}

/**
 * How Lambda handles the asynchronous invocations of a function with a dead-letter queue (a
 * scheduled one): the next run, a minute later, supersedes a failed one, so a run is not retried,
 * and one that could not start within its minute is dropped. Both go to the queue.
 */
function asyncInvocation(
  deadLetterQueue: Queue | undefined,
): Pick<NodejsFunctionProps, 'deadLetterQueue' | 'retryAttempts' | 'maxEventAge'> {
  if (!deadLetterQueue) return {};
  return { deadLetterQueue, retryAttempts: 0, maxEventAge: Duration.minutes(1) };
}

/** The sharp layer for the functions whose sizing says they need sharp; none for the others. */
function functionLayers({ functionName, sharpLayer }: AicFunctionProps): ILayerVersion[] {
  if (!FUNCTION_SIZING[functionName].needsSharp) return [];
  if (!sharpLayer) throw new Error(`The ${functionName} function needs the sharp layer`);
  return [sharpLayer];
}

/** The function's memory in MiB, from its sizing or its environment's configuration. */
export function memoryOf({
  functionName,
  config,
}: Pick<AicFunctionProps, 'functionName' | 'config'>): number {
  const { memoryMiB } = FUNCTION_SIZING[functionName];
  return memoryMiB === 'environment' ? config.lambda.compress.memoryMiB : memoryMiB;
}

/** The caller's variables plus the Powertools, logging and Node.js settings every function gets. */
function functionEnvironment(props: AicFunctionProps): Record<string, string> {
  const { config } = props;
  return {
    ...props.environment,
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    LOG_LEVEL: config.logLevel,
    CORS_ALLOWED_ORIGINS: config.corsAllowedOrigins.join(','),
    ...tenantEnvironment(config),
    // No shared signing key exists on AWS: a function configured with one refuses to start.
    AIC_DEPLOYMENT: 'aws',
    // The bundle ships a source map; this makes stack traces point at the TypeScript sources.
    NODE_OPTIONS: '--enable-source-maps',
    // Functions that handle pixels start V8 with a larger old generation (node-flags.ts).
    ...(FUNCTION_SIZING[props.functionName].needsSharp
      ? {
          AWS_LAMBDA_EXEC_WRAPPER: NODE_FLAGS_WRAPPER,
          AIC_NODE_FLAGS: NODE_HEAP_FLAGS.join(' '),
          ...PIXEL_PROCESS_ENV,
          ...parallelEncodesEnvironment(memoryOf(props) / MIB_PER_VCPU),
        }
      : {}),
  };
}
