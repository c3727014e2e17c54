import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  CfnSecurityGroupIngress,
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
import { type IGrantable, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
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
import { ManagedPolicyRole } from '../security/managed-policy-role.ts';
import { DATA_WINDOWS } from './data-windows.ts';
import {
  DATABASE_LOG_EXPORTS,
  databaseLogGroups,
  MONITORING_INTERVAL,
  monitoringRole,
} from './database-telemetry.ts';

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

/** Whose credentials a database secret holds. */
export type DatabaseSecretOwner = 'master' | 'app' | 'migrator';

/**
 * The name of an environment's database credentials secret (`auralink-aic/<env>/database`, and
 * `-app`, `-migrator` for the roles): fixed, so that other stacks can name a secret without
 * importing it.
 */
export function databaseSecretName(environment: string, owner: DatabaseSecretOwner): string {
  return `auralink-aic/${environment}/database${owner === 'master' ? '' : `-${owner}`}`;
}

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
 * RDS for PostgreSQL behind RDS Proxy: the instance (TLS only, encrypted, its logs exported to
 * encrypted log groups with the environment's retention, Enhanced Monitoring), one credentials
 * secret per {@link DatabaseUser}, encrypted with a key of the stack and each with a single-user
 * rotation schedule, and the proxy the functions and tasks reach with IAM auth tokens. The proxy
 * logs in to the instance as the user a client's token names, with that user's secret. Only the
 * proxy and the rotation functions connect to the instance, so a rotated password reaches no
 * client.
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
  /**
   * The key of the three credentials secrets. Whoever reads a secret (the proxy, the rotations, the
   * bootstrap) also needs `kms:Decrypt` on it, through Secrets Manager only: `grantRead` adds both.
   */
  readonly credentialsKey: Key;
  /** The role RDS Proxy reads the secrets with. */
  readonly proxyRole: ManagedPolicyRole;

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

    this.credentialsKey = this.createCredentialsKey(config);
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
    this.proxyRole = new ManagedPolicyRole(this.host, 'ProxyRole', {
      description: `AuraLink AIC RDS Proxy reading the database credentials (${config.name})`,
      assumedBy: new ServicePrincipal('rds.amazonaws.com'),
    });
    this.proxy = this.addProxy(props, proxySecurityGroup);
    this.proxyConnections = new Connections({
      securityGroups: [proxySecurityGroup],
      defaultPort: Port.tcp(PROXY_PORT),
    });
    this.acknowledgeFindings(config);
    acknowledgeInstancePortRules(instanceSecurityGroup, config);
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

  /**
   * The instance, with its credentials secret, parameters, exported logs and Enhanced Monitoring.
   * The backup window is the hour of the AWS Backup rule ({@link DATA_WINDOWS}), which manages the
   * automated backups with the same retention.
   */
  private createInstance(
    props: PostgresDatabaseProps,
    securityGroup: SecurityGroup,
  ): DatabaseInstance {
    const { config } = props;
    const instanceIdentifier = `auralink-aic-${config.name}`;
    const logGroups = databaseLogGroups(this.host, config, instanceIdentifier);
    const monitoring = monitoringRole(this.host, config, instanceIdentifier);
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
      credentials: Credentials.fromSecret(this.createMasterSecret(config)),
      parameterGroup: this.createParameters(engine, config),
      caCertificate: CaCertificate.RDS_CA_RSA2048_G1,
      storageEncrypted: true,
      storageType: StorageType.GP3,
      allocatedStorage: config.database.allocatedStorageGiB,
      maxAllocatedStorage: config.database.maxAllocatedStorageGiB,
      multiAz: config.database.multiAz,
      deletionProtection: config.database.deletionProtection,
      backupRetention: Duration.days(config.database.backupRetentionDays),
      preferredBackupWindow: DATA_WINDOWS.databaseBackup,
      preferredMaintenanceWindow: DATA_WINDOWS.databaseMaintenance,
      deleteAutomatedBackups: !config.retainOnDelete,
      // IAM database authentication for operators connecting directly (`rds-db:connect` tokens);
      // the services authenticate with IAM at the proxy, which logs in with the rotated secrets.
      iamAuthentication: true,
      autoMinorVersionUpgrade: true,
      allowMajorVersionUpgrade: false,
      publiclyAccessible: false,
      cloudwatchLogsExports: Object.keys(DATABASE_LOG_EXPORTS),
      monitoringInterval: MONITORING_INTERVAL,
      monitoringRole: monitoring.role,
      removalPolicy: config.retainOnDelete ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    });
    const resource = instance.node.defaultChild as CfnDBInstance;
    for (const logGroup of logGroups) resource.node.addDependency(logGroup);
    // The role's policy is a resource of its own: without this, RDS could turn Enhanced Monitoring
    // on before the role may write a sample.
    resource.node.addDependency(monitoring.policy);
    return instance;
  }

  /** The master user's credentials secret, which the instance takes its first password from. */
  private createMasterSecret(config: EnvironmentConfig): DatabaseSecret {
    const credentials = new DatabaseSecret(this.host, 'DatabaseCredentials', {
      username: DATABASE_USER,
      secretName: databaseSecretName(config.name, 'master'),
      encryptionKey: this.credentialsKey,
    });
    // A retained database (its final snapshot) keeps the password of this secret: keep it too.
    credentials.applyRemovalPolicy(
      config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    );
    return credentials;
  }

  /**
   * The credentials secret of a role, attached to the instance (the rotation and the proxy read its
   * host, port and dbname) and kept like the master's with a retained database.
   */
  private createRoleSecret(
    config: EnvironmentConfig,
    id: string,
    username: DatabaseUser,
    name: 'app' | 'migrator',
  ): ISecret {
    const secret = new DatabaseSecret(this.host, id, {
      username,
      secretName: databaseSecretName(config.name, name),
      excludeCharacters: PASSWORD_EXCLUDE_CHARACTERS,
      encryptionKey: this.credentialsKey,
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

  /**
   * A key of the stack's own rather than Secrets Manager's AWS managed one: its policy and IAM say
   * who may decrypt the credentials, and disabling it cuts every reader off at once. Kept with the
   * secrets it encrypts.
   */
  private createCredentialsKey(config: EnvironmentConfig): Key {
    return new Key(this.host, 'CredentialsKey', {
      description: `AuraLink AIC database credentials secrets (${config.name})`,
      enableKeyRotation: true,
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
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
      // Its grants (the secrets and their key) land in a managed policy of the role's own.
      role: this.proxyRole,
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

  /**
   * The durability settings the configuration schema lets environments other than prod relax,
   * acknowledged where the environment relaxes them and nowhere else.
   */
  private acknowledgeFindings(config: EnvironmentConfig): void {
    const instance = Validations.of(this.instance);
    if (!config.database.multiAz) {
      const reason = `Multi-AZ is a per-environment choice (cdk.json aic:environments.${config.name}.database.multiAz) and required in prod by the configuration schema; ${config.name} restores from backups instead.`;
      instance.acknowledge(
        { id: 'AwsSolutions-RDS3', reason },
        { id: 'NIST.800.53.R5-RDSMultiAZSupport', reason },
      );
    }
    if (!config.database.deletionProtection) {
      const reason = `Deletion protection is a per-environment choice (cdk.json aic:environments.${config.name}.database.deletionProtection) and required in prod by the configuration schema; ${config.name} is torn down and rebuilt.`;
      instance.acknowledge(
        { id: 'AwsSolutions-RDS10', reason },
        { id: 'NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled', reason },
      );
    }
  }
}

/** The ports NIST.800.53.R5-EC2RestrictedSSH and -EC2RestrictedCommonPorts look for. */
const RESTRICTED_PORTS: readonly number[] = [20, 21, 22, 3306, 3389, 4333];

/**
 * The instance's ingress rules (from the proxy and from the rotation functions) open the instance
 * port, which CDK takes from the instance's endpoint attribute: the SSH and common-port checks
 * cannot read a port that is only known at deploy time, so they fail on the rule rather than pass.
 * They are acknowledged only while the configured port is none of the ports they look for.
 */
function acknowledgeInstancePortRules(group: SecurityGroup, config: EnvironmentConfig): void {
  if (RESTRICTED_PORTS.includes(config.database.port)) return;
  const reason =
    `The port is the instance's endpoint port, resolved at deploy time: cdk.json ` +
    `aic:environments.${config.name}.database.port (${config.database.port}, which the ` +
    'configuration schema keeps off the engine default), not SSH or another common port, and the ' +
    'source is a security group, never an address range.';
  for (const child of group.node.children) {
    if (!(child instanceof CfnSecurityGroupIngress)) continue;
    Validations.of(child).acknowledge(
      { id: 'NIST.800.53.R5-EC2RestrictedSSH', reason },
      { id: 'NIST.800.53.R5-EC2RestrictedCommonPorts', reason },
    );
  }
}
