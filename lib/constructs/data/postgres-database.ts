import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  Connections,
  type IInterfaceVpcEndpoint,
  InstanceType,
  type IVpc,
  Peer,
  Port,
  type SecurityGroup,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
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
  type IInstanceEngine,
  ParameterGroup,
  PostgresEngineVersion,
  StorageType,
} from 'aws-cdk-lib/aws-rds';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { privateSecurityGroup } from '../private-security-group.ts';

/** Name of the application database. */
export const DATABASE_NAME = 'auralink';

/**
 * Master user of the instance: the proxy logs in with its secret, the services connect to the
 * proxy as this user with IAM auth tokens.
 */
export const DATABASE_USER = 'aic_admin';

/** RDS Proxy listens on the engine's standard port whatever the instance's port is. */
export const PROXY_PORT = 5432;

/** Properties of {@link PostgresDatabase}. */
export interface PostgresDatabaseProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The VPC of the instance and the proxy. */
  readonly vpc: IVpc;
  /** Where the instance and the proxy run: subnets with no route out of the VPC. */
  readonly subnets: SubnetSelection;
  /** Where the credentials rotation function runs, and the Secrets Manager endpoint it calls. */
  readonly rotation: {
    readonly subnets: SubnetSelection;
    readonly endpoint: IInterfaceVpcEndpoint;
  };
}

/**
 * RDS for PostgreSQL behind RDS Proxy: the instance (TLS only, encrypted, its log exported to a log
 * group with the environment's retention), its credentials secret with a rotation schedule, and
 * the proxy the services reach with IAM auth tokens. Only the proxy and the rotation function
 * connect to the instance, so a rotated password reaches no client.
 */
export class PostgresDatabase extends FlatConstruct {
  /** The PostgreSQL instance. */
  readonly instance: DatabaseInstance;
  /** The credentials secret of {@link DATABASE_USER} (username, password, host, port, dbname). */
  readonly secret: ISecret;
  /** RDS Proxy in front of the instance; clients connect to its endpoint on {@link PROXY_PORT}. */
  readonly proxy: DatabaseProxy;
  /** Who may connect to the proxy: `connections.allowTo(database.proxyConnections, ...)`. */
  readonly proxyConnections: Connections;

  constructor(scope: Construct, id: string, props: PostgresDatabaseProps) {
    super(scope, id);
    const { config, vpc } = props;
    const instanceSecurityGroup = privateSecurityGroup(
      this.host,
      'DatabaseSecurityGroup',
      vpc,
      'PostgreSQL instance: only RDS Proxy and the rotation function connect',
    );
    const proxySecurityGroup = privateSecurityGroup(
      this.host,
      'ProxySecurityGroup',
      vpc,
      'RDS Proxy: TLS clients on 5432 from the functions and tasks allowed to',
    );

    this.instance = this.createInstance(props, instanceSecurityGroup);
    // The attachment: the same secret, completed with the instance's host, port and dbname.
    this.secret = this.instance.secret as ISecret;
    this.instance.addRotationSingleUser({
      automaticallyAfter: Duration.days(config.database.credentialsRotationDays),
      vpcSubnets: props.rotation.subnets,
      endpoint: props.rotation.endpoint,
    });
    this.proxy = this.addProxy(props, proxySecurityGroup);
    this.proxyConnections = new Connections({
      securityGroups: [proxySecurityGroup],
      defaultPort: Port.tcp(PROXY_PORT),
    });
    this.acknowledgeFindings(config);
  }

  /**
   * The variables that point a service at the database through the proxy with IAM auth: the proxy
   * endpoint, port, database and user. No secret: the service signs its own tokens.
   */
  environment(): Record<string, string> {
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

  /** The instance, with its credentials secret, parameters and log group. */
  private createInstance(
    props: PostgresDatabaseProps,
    securityGroup: SecurityGroup,
  ): DatabaseInstance {
    const { config } = props;
    const removalPolicy = config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const instanceIdentifier = `auralink-aic-${config.name}`;
    // Created here rather than by RDS, so the PostgreSQL log has the environment's retention.
    const postgresLog = new LogGroup(this.host, 'PostgresLog', {
      logGroupName: `/aws/rds/instance/${instanceIdentifier}/postgresql`,
      retention: config.logRetentionDays,
      removalPolicy,
    });
    const credentials = new DatabaseSecret(this.host, 'DatabaseCredentials', {
      username: DATABASE_USER,
      secretName: `auralink-aic/${config.name}/database`,
    });
    // A retained database (its final snapshot) keeps the password of this secret: keep it too.
    credentials.applyRemovalPolicy(removalPolicy);

    const engine = DatabaseInstanceEngine.postgres({ version: PostgresEngineVersion.VER_17 });
    const instance = new DatabaseInstance(this.host, 'Database', {
      instanceIdentifier,
      engine,
      instanceType: new InstanceType(config.database.instanceClass),
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [securityGroup],
      port: config.database.port,
      databaseName: DATABASE_NAME,
      credentials: Credentials.fromSecret(credentials),
      parameterGroup: this.createParameters(engine, config),
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
    (instance.node.defaultChild as CfnDBInstance).node.addDependency(
      postgresLog.node.defaultChild as CfnLogGroup,
    );
    return instance;
  }

  /** The instance's parameter group: TLS required, slow statements logged. */
  private createParameters(engine: IInstanceEngine, config: EnvironmentConfig): ParameterGroup {
    return new ParameterGroup(this.host, 'Parameters', {
      engine,
      description: `AuraLink AIC PostgreSQL (${config.name})`,
      parameters: {
        // Plain-text connections are refused even from inside the VPC.
        'rds.force_ssl': '1',
        // Statements slower than this land in the PostgreSQL log (exported to CloudWatch).
        log_min_duration_statement: '1000',
      },
    });
  }

  /** RDS Proxy in front of the instance: TLS and IAM auth tokens only. */
  private addProxy(props: PostgresDatabaseProps, securityGroup: SecurityGroup): DatabaseProxy {
    const proxy = this.instance.addProxy('Proxy', {
      dbProxyName: `auralink-aic-${props.config.name}`,
      secrets: [this.secret],
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [securityGroup],
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
    securityGroup.addEgressRule(
      Peer.ipv4(props.config.network.vpcCidr),
      Port.tcp(443),
      'RDS Proxy reads the credentials from Secrets Manager',
    );
    return proxy;
  }

  /** The durability settings the configuration schema lets environments other than prod relax. */
  private acknowledgeFindings(config: EnvironmentConfig): void {
    if (!config.database.multiAz) {
      Validations.of(this.instance).acknowledge({
        id: 'AwsSolutions-RDS3',
        reason: `Multi-AZ is a per-environment choice (cdk.json aic:environments.${config.name}.database.multiAz) and required in prod by the configuration schema; ${config.name} restores from backups instead.`,
      });
    }
    if (!config.database.deletionProtection) {
      Validations.of(this.instance).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: `Deletion protection is a per-environment choice (cdk.json aic:environments.${config.name}.database.deletionProtection) and required in prod by the configuration schema; ${config.name} is torn down and rebuilt.`,
      });
    }
  }
}
