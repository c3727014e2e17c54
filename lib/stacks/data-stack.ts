import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import {
  Connections,
  InstanceType,
  type IVpc,
  Peer,
  Port,
  SecurityGroup,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
import { CfnReplicationGroup, CfnSubnetGroup } from 'aws-cdk-lib/aws-elasticache';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { type CfnLogGroup, LogGroup } from 'aws-cdk-lib/aws-logs';
import {
  CaCertificate,
  type CfnDBInstance,
  Credentials,
  DatabaseInstance,
  DatabaseInstanceEngine,
  type DatabaseProxy,
  DatabaseSecret,
  ParameterGroup,
  PostgresEngineVersion,
  StorageType,
} from 'aws-cdk-lib/aws-rds';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { InvocationType, Trigger } from 'aws-cdk-lib/triggers';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment-config.ts';
import { FUNCTION_SIZING } from '../config/function-sizing.ts';
import { AicFunction } from '../constructs/aic-function.ts';
import { type NetworkStack, SUBNET_GROUPS } from './network-stack.ts';

/** Name of the application database. */
export const DATABASE_NAME = 'auralink';

/**
 * Master user of the instance: the proxy logs in with its secret, the services connect to the
 * proxy as this user with IAM auth tokens.
 */
export const DATABASE_USER = 'aic_admin';

/** RDS Proxy listens on the engine's standard port whatever the instance's port is. */
export const PROXY_PORT = 5432;

/** Properties of {@link DataStack}. */
export interface DataStackProps extends StackProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The environment's network. */
  readonly network: NetworkStack;
}

/**
 * The stateful part of one environment: RDS for PostgreSQL behind RDS Proxy, its credentials
 * secret with a rotation schedule, the schema migrations applied at deploy time, and ElastiCache
 * for Redis with an AUTH token from Secrets Manager. Everything sits in the isolated data subnets;
 * clients reach it through {@link DataStack.proxyConnections} and {@link DataStack.redisConnections}.
 */
export class DataStack extends Stack {
  /** The PostgreSQL instance. */
  readonly database: DatabaseInstance;
  /** The credentials secret of {@link DATABASE_USER} (username, password, host, port, dbname). */
  readonly databaseSecret: ISecret;
  /** RDS Proxy in front of the instance; clients connect to its endpoint on {@link PROXY_PORT}. */
  readonly proxy: DatabaseProxy;
  /** Who may connect to the proxy: `connections.allowTo(dataStack.proxyConnections, ...)`. */
  readonly proxyConnections: Connections;
  /** The Redis replication group. */
  readonly redis: CfnReplicationGroup;
  /** The Redis AUTH token (a plain string secret). */
  readonly redisAuthSecret: Secret;
  /** Port of Redis. */
  readonly redisPort: number;
  /** Who may connect to Redis. */
  readonly redisConnections: Connections;
  /** The deploy-time migration function and its trigger. */
  readonly migrations: { fn: AicFunction; trigger: Trigger };

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config, network } = props;
    const { vpc } = network;
    const dataSubnets: SubnetSelection = { subnetGroupName: SUBNET_GROUPS.data };
    const removalPolicy = config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    // Postgres ---------------------------------------------------------------------------------
    const databaseSecurityGroup = privateSecurityGroup(this, 'DatabaseSecurityGroup', vpc, {
      description: 'PostgreSQL instance: only RDS Proxy and the rotation function connect',
    });
    const proxySecurityGroup = privateSecurityGroup(this, 'ProxySecurityGroup', vpc, {
      description: 'RDS Proxy: TLS clients on 5432 from the functions and tasks allowed to',
    });

    const instanceIdentifier = `auralink-aic-${config.name}`;
    // Created here rather than by RDS, so the PostgreSQL log has the environment's retention.
    const postgresLog = new LogGroup(this, 'PostgresLog', {
      logGroupName: `/aws/rds/instance/${instanceIdentifier}/postgresql`,
      retention: config.logRetentionDays,
      removalPolicy,
    });

    const credentials = new DatabaseSecret(this, 'DatabaseCredentials', {
      username: DATABASE_USER,
      secretName: `auralink-aic/${config.name}/database`,
    });
    // A retained database (its final snapshot) keeps the password of this secret: keep it too.
    credentials.applyRemovalPolicy(removalPolicy);

    const engine = DatabaseInstanceEngine.postgres({ version: PostgresEngineVersion.VER_17 });
    this.database = new DatabaseInstance(this, 'Database', {
      instanceIdentifier,
      engine,
      instanceType: new InstanceType(config.database.instanceClass),
      vpc,
      vpcSubnets: dataSubnets,
      securityGroups: [databaseSecurityGroup],
      port: config.database.port,
      databaseName: DATABASE_NAME,
      credentials: Credentials.fromSecret(credentials),
      parameterGroup: new ParameterGroup(this, 'Parameters', {
        engine,
        description: `AuraLink AIC PostgreSQL (${config.name})`,
        parameters: {
          // Plain-text connections are refused even from inside the VPC.
          'rds.force_ssl': '1',
          // Statements slower than this land in the PostgreSQL log (exported to CloudWatch).
          log_min_duration_statement: '1000',
        },
      }),
      caCertificate: CaCertificate.RDS_CA_RSA2048_G1,
      storageEncrypted: true,
      storageType: StorageType.GP3,
      allocatedStorage: config.database.allocatedStorageGiB,
      maxAllocatedStorage: config.database.maxAllocatedStorageGiB,
      multiAz: config.database.multiAz,
      deletionProtection: config.database.deletionProtection,
      backupRetention: Duration.days(config.database.backupRetentionDays),
      deleteAutomatedBackups: !config.retainOnDelete,
      // IAM database authentication for operators connecting directly (`rds-db:connect` tokens);
      // the services authenticate with IAM at the proxy, which logs in with the rotated secret.
      iamAuthentication: true,
      autoMinorVersionUpgrade: true,
      allowMajorVersionUpgrade: false,
      publiclyAccessible: false,
      cloudwatchLogsExports: ['postgresql'],
      removalPolicy: config.retainOnDelete ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    });
    (this.database.node.defaultChild as CfnDBInstance).node.addDependency(
      postgresLog.node.defaultChild as CfnLogGroup,
    );
    // The attachment: the same secret, completed with the instance's host, port and dbname.
    this.databaseSecret = this.database.secret as ISecret;

    this.database.addRotationSingleUser({
      automaticallyAfter: Duration.days(config.database.credentialsRotationDays),
      vpcSubnets: { subnetGroupName: SUBNET_GROUPS.app },
      endpoint: network.secretsManagerEndpoint,
    });

    this.proxy = this.database.addProxy('Proxy', {
      dbProxyName: `auralink-aic-${config.name}`,
      secrets: [this.databaseSecret],
      vpc,
      vpcSubnets: dataSubnets,
      securityGroups: [proxySecurityGroup],
      requireTLS: true,
      // Clients present a 15-minute IAM auth token (functions/platform/db/connection.ts), never the
      // password: only the proxy reads the secret, so a rotation reaches no client.
      iamAuth: true,
      borrowTimeout: Duration.seconds(30),
      maxConnectionsPercent: 90,
    });
    // addProxy opens the instance port from the proxy in both groups. The proxy reads the
    // credentials through the Secrets Manager endpoint; this inline rule also keeps CloudFormation
    // from giving the group its default allow-all egress.
    proxySecurityGroup.addEgressRule(
      Peer.ipv4(config.network.vpcCidr),
      Port.tcp(443),
      'RDS Proxy reads the credentials from Secrets Manager',
    );
    this.proxyConnections = new Connections({
      securityGroups: [proxySecurityGroup],
      defaultPort: Port.tcp(PROXY_PORT),
    });

    // Migrations ---------------------------------------------------------------------------------
    const migrate = new AicFunction(this, 'MigrateFunction', {
      functionName: 'migrate',
      config,
      network: {
        vpc,
        subnets: { subnetGroupName: SUBNET_GROUPS.app },
      },
      environment: this.databaseEnvironment(),
    });
    this.grantConnect(migrate.function);
    migrate.function.connections.allowTo(
      this.proxyConnections,
      Port.tcp(PROXY_PORT),
      'Schema migrations through RDS Proxy',
    );
    const trigger = new Trigger(this, 'MigrateTrigger', {
      handler: migrate.function,
      invocationType: InvocationType.REQUEST_RESPONSE,
      // The function's own limit, plus a margin for a cold start.
      timeout: Duration.seconds(FUNCTION_SIZING.migrate.timeoutSeconds + 60),
      executeAfter: [this.proxy, this.database],
      executeOnHandlerChange: true,
    });
    this.migrations = { fn: migrate, trigger };

    // Redis ----------------------------------------------------------------------------------------
    const { cache } = config;
    this.redisPort = cache.port;
    const redisSecurityGroup = privateSecurityGroup(this, 'RedisSecurityGroup', vpc, {
      description: 'ElastiCache Redis: TLS clients from the functions and tasks allowed to',
    });
    this.redisConnections = new Connections({
      securityGroups: [redisSecurityGroup],
      defaultPort: Port.tcp(cache.port),
    });
    this.redisAuthSecret = new Secret(this, 'RedisAuthToken', {
      secretName: `auralink-aic/${config.name}/redis-auth-token`,
      description: `AUTH token of the AuraLink AIC Redis replication group (${config.name})`,
      // ElastiCache accepts 16-128 printable characters except @, " and /: letters and digits only.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy,
    });
    Validations.of(this.redisAuthSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Secrets Manager has no rotation function for ElastiCache AUTH tokens; rotating one is a ' +
        'two-step modify-replication-group (ROTATE, then SET) that the README runbook describes.',
    });
    const subnetGroup = new CfnSubnetGroup(this, 'RedisSubnets', {
      description: `AuraLink AIC Redis (${config.name})`,
      subnetIds: vpc.selectSubnets(dataSubnets).subnetIds,
    });
    const slowLog = new LogGroup(this, 'RedisSlowLog', {
      logGroupName: `/auralink/aic/${config.name}/redis-slow-log`,
      retention: config.logRetentionDays,
      removalPolicy,
    });
    this.redis = new CfnReplicationGroup(this, 'Redis', {
      replicationGroupDescription: `AuraLink AIC rate limits and live session state (${config.name})`,
      engine: 'redis',
      engineVersion: '7.1',
      cacheParameterGroupName: 'default.redis7',
      cacheNodeType: `cache.${cache.nodeType}`,
      numCacheClusters: 1 + cache.replicas,
      // ElastiCache requires failover whenever there is a replica; Multi-AZ also spreads them.
      automaticFailoverEnabled: cache.replicas > 0,
      multiAzEnabled: cache.multiAz,
      port: cache.port,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [redisSecurityGroup.securityGroupId],
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      // A dynamic reference: CloudFormation resolves it at deploy time; no value is in the template.
      authToken: this.redisAuthSecret.secretValue.unsafeUnwrap(),
      snapshotRetentionLimit: cache.snapshotRetentionDays,
      autoMinorVersionUpgrade: true,
      logDeliveryConfigurations: [
        {
          destinationType: 'cloudwatch-logs',
          destinationDetails: { cloudWatchLogsDetails: { logGroup: slowLog.logGroupName } },
          logFormat: 'json',
          logType: 'slow-log',
        },
      ],
    });
    this.redis.applyRemovalPolicy(
      config.retainOnDelete ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    );
    if (!cache.multiAz) {
      Validations.of(this.redis).acknowledge({
        id: 'AwsSolutions-AEC4',
        reason: `Multi-AZ is a per-environment choice (cdk.json aic:environments.${config.name}.cache.multiAz) and required in prod by the configuration schema; ${config.name} keeps rate-limit state that the services survive losing (the limiter fails open).`,
      });
    }
    if (!config.database.multiAz) {
      Validations.of(this.database).acknowledge({
        id: 'AwsSolutions-RDS3',
        reason: `Multi-AZ is a per-environment choice (cdk.json aic:environments.${config.name}.database.multiAz) and required in prod by the configuration schema; ${config.name} restores from backups instead.`,
      });
    }
    if (!config.database.deletionProtection) {
      Validations.of(this.database).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: `Deletion protection is a per-environment choice (cdk.json aic:environments.${config.name}.database.deletionProtection) and required in prod by the configuration schema; ${config.name} is torn down and rebuilt.`,
      });
    }
  }

  /**
   * The variables that point a service at the database through the proxy with IAM auth: the proxy
   * endpoint, port, database and user. No secret: the service signs its own tokens.
   */
  databaseEnvironment(): Record<string, string> {
    return {
      DB_IAM_AUTH: 'true',
      DB_USER: DATABASE_USER,
      DB_HOST: this.proxy.endpoint,
      DB_PORT: String(PROXY_PORT),
      DB_NAME: DATABASE_NAME,
    };
  }

  /** Lets `grantee` connect to the proxy as {@link DATABASE_USER} (`rds-db:connect`). */
  grantConnect(grantee: IGrantable): void {
    this.proxy.grantConnect(grantee, DATABASE_USER);
  }

  /** The variables that point a service at Redis over TLS, with the AUTH token's secret ARN. */
  redisEnvironment(): Record<string, string> {
    return {
      REDIS_URL: `rediss://${this.redis.attrPrimaryEndPointAddress}:${this.redisPort}`,
      REDIS_AUTH_SECRET_ARN: this.redisAuthSecret.secretArn,
    };
  }
}

/** A security group with no egress unless a rule adds it. */
function privateSecurityGroup(
  scope: Construct,
  id: string,
  vpc: IVpc,
  options: { description: string },
): SecurityGroup {
  return new SecurityGroup(scope, id, {
    vpc,
    description: options.description,
    allowAllOutbound: false,
  });
}
