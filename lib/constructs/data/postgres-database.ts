import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  Connections,
  type IInterfaceVpcEndpoint,
  InstanceType,
  type ISecurityGroup,
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
import {
  type ISecret,
  SecretRotation,
  SecretRotationApplication,
} from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct, IDependable } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { privateSecurityGroup } from '../private-security-group.ts';

/** Name of the application database. */
export const DATABASE_NAME = 'auralink';

/**
 * Master user of the instance. Only the database bootstrap connects as it (through the proxy, with
 * IAM auth tokens): it gives the two roles below their logins.
 */
export const DATABASE_USER = 'aic_admin';

/** The services' role: DML on the service's tables only. Every service function and task. */
export const APP_DATABASE_USER = 'aic_app';

/** The migrations' role: owns the schema's objects, runs the DDL. The `migrate` function only. */
export const MIGRATOR_DATABASE_USER = 'aic_migrator';

/** A user the proxy logs in as, with a rotated secret of its own. */
export type DatabaseUser =
  | typeof DATABASE_USER
  | typeof APP_DATABASE_USER
  | typeof MIGRATOR_DATABASE_USER;

/**
 * Characters left out of every generated or rotated password (RDS's own list): no quote, slash or
 * at sign that a connection string or a statement would have to escape.
 */
const PASSWORD_EXCLUDE_CHARACTERS = ' %+~`#$&*()|[]{}:;<>?!\'/@"\\';

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
 * group with the environment's retention), one credentials secret per {@link DatabaseUser}, each
 * with a single-user rotation schedule, and the proxy the functions and tasks reach with IAM auth
 * tokens. The proxy logs in to the instance as the user a client's token names, with that user's
 * secret. Only the proxy and the rotation functions connect to the instance, so a rotated password
 * reaches no client.
 */
export class PostgresDatabase extends FlatConstruct {
  /** The PostgreSQL instance. */
  readonly instance: DatabaseInstance;
  /**
   * The credentials secret of {@link DATABASE_USER} (username, password, host, port, dbname): read
   * by the proxy and its rotation function only.
   */
  readonly secret: ISecret;
  /** The credentials secret of {@link APP_DATABASE_USER}, in the same form. */
  readonly appSecret: ISecret;
  /** The credentials secret of {@link MIGRATOR_DATABASE_USER}, in the same form. */
  readonly migratorSecret: ISecret;
  /** RDS Proxy in front of the instance; clients connect to its endpoint on {@link PROXY_PORT}. */
  readonly proxy: DatabaseProxy;
  /** Who may connect to the proxy: `connections.allowTo(database.proxyConnections, ...)`. */
  readonly proxyConnections: Connections;

  /** The rotations of the two role secrets, which can only succeed once the roles can log in. */
  private readonly roleRotations: readonly SecretRotation[];

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
    const masterRotation = this.instance.addRotationSingleUser({
      automaticallyAfter: Duration.days(config.database.credentialsRotationDays),
      vpcSubnets: props.rotation.subnets,
      endpoint: props.rotation.endpoint,
    });
    // The role rotations run beside the master's, in the security group its rotation created: one
    // rule on the instance for all three.
    const rotationSecurityGroup = masterRotation.node.findChild('SecurityGroup') as ISecurityGroup;
    this.appSecret = this.createRoleSecret(config, 'AppCredentials', APP_DATABASE_USER, 'app');
    this.migratorSecret = this.createRoleSecret(
      config,
      'MigratorCredentials',
      MIGRATOR_DATABASE_USER,
      'migrator',
    );
    this.roleRotations = [
      this.addRoleRotation(props, 'AppCredentialsRotation', this.appSecret, rotationSecurityGroup),
      this.addRoleRotation(
        props,
        'MigratorCredentialsRotation',
        this.migratorSecret,
        rotationSecurityGroup,
      ),
    ];
    this.proxy = this.addProxy(props, proxySecurityGroup);
    this.proxyConnections = new Connections({
      securityGroups: [proxySecurityGroup],
      defaultPort: Port.tcp(PROXY_PORT),
    });
    this.acknowledgeFindings(config);
  }

  /**
   * The variables that point a function or task at the database through the proxy with IAM auth,
   * as `user`: the proxy endpoint, port, database and user. No secret: it signs its own tokens.
   */
  environment(user: DatabaseUser): Record<string, string> {
    return {
      DB_IAM_AUTH: 'true',
      DB_USER: user,
      DB_HOST: this.proxy.endpoint,
      DB_PORT: String(PROXY_PORT),
      DB_NAME: DATABASE_NAME,
    };
  }

  /** Lets `grantee` connect to the proxy as `user` (`rds-db:connect`), and as no other user. */
  grantConnect(grantee: IGrantable, user: DatabaseUser): void {
    this.proxy.grantConnect(grantee, user);
  }

  /**
   * Holds back the first rotation of the role secrets until `step` has run: the bootstrap, which
   * gives the roles their logins from these secrets (single-user rotation logs in as the role itself
   * to change its password, and fails while the role has no login), and any step that should not
   * see a password change under it.
   */
  rotateRolesAfter(step: IDependable): void {
    for (const rotation of this.roleRotations) rotation.node.addDependency(step);
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
      // the services authenticate with IAM at the proxy, which logs in with the rotated secrets.
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

  /**
   * The credentials secret of a role, attached to the instance (the rotation and the proxy read its
   * host, port and dbname) and kept like the master's with a retained database.
   */
  private createRoleSecret(
    config: EnvironmentConfig,
    id: string,
    username: DatabaseUser,
    name: string,
  ): ISecret {
    const secret = new DatabaseSecret(this.host, id, {
      username,
      secretName: `auralink-aic/${config.name}/database-${name}`,
      excludeCharacters: PASSWORD_EXCLUDE_CHARACTERS,
    });
    secret.applyRemovalPolicy(config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);
    return secret.attach(this.instance);
  }

  /**
   * Single-user rotation of a role secret on the master's schedule, from the same subnets through
   * the same endpoint. Single-user, not multi-user: the proxy finds a client's secret by the user
   * name its IAM token names, and multi-user rotation would alternate that name between two users.
   */
  private addRoleRotation(
    props: PostgresDatabaseProps,
    id: string,
    secret: ISecret,
    securityGroup: ISecurityGroup,
  ): SecretRotation {
    return new SecretRotation(this.host, id, {
      application: SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER,
      secret,
      target: this.instance,
      vpc: props.vpc,
      vpcSubnets: props.rotation.subnets,
      endpoint: props.rotation.endpoint,
      securityGroup,
      automaticallyAfter: Duration.days(props.config.database.credentialsRotationDays),
      excludeCharacters: PASSWORD_EXCLUDE_CHARACTERS,
    });
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
      // The proxy logs in as the user a client's token names, with the secret of that user name.
      secrets: [this.secret, this.appSecret, this.migratorSecret],
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [securityGroup],
      requireTLS: true,
      // Clients present a 15-minute IAM auth token (functions/platform/db/connection.ts), never a
      // password: only the proxy logs in with the secrets, so a rotation reaches no client.
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
