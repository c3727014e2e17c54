import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Connections, type IVpc, Port, type SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { CfnReplicationGroup, CfnSubnetGroup } from 'aws-cdk-lib/aws-elasticache';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { privateSecurityGroup } from '../private-security-group.ts';

/** Properties of {@link RedisCache}. */
export interface RedisCacheProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The VPC of the replication group. */
  readonly vpc: IVpc;
  /** Where the nodes run: subnets with no route out of the VPC. */
  readonly subnets: SubnetSelection;
}

/**
 * ElastiCache for Redis: one replication group (TLS required, encrypted at rest, slow log in a log
 * group with the environment's retention) and its AUTH token, generated into Secrets Manager and
 * handed to ElastiCache as a dynamic reference, so no token is in the template. The services read
 * the token themselves and cache it until its next rotation.
 */
export class RedisCache extends FlatConstruct {
  /** The Redis replication group. */
  readonly replicationGroup: CfnReplicationGroup;
  /** The Redis AUTH token (a plain string secret). */
  readonly authSecret: Secret;
  /** Port of Redis. */
  readonly port: number;
  /** Who may connect to Redis. */
  readonly connections: Connections;

  constructor(scope: Construct, id: string, props: RedisCacheProps) {
    super(scope, id);
    const { config } = props;
    this.port = config.cache.port;
    const securityGroup = privateSecurityGroup(
      this.host,
      'RedisSecurityGroup',
      props.vpc,
      'ElastiCache Redis: TLS clients from the functions and tasks allowed to',
    );
    this.connections = new Connections({
      securityGroups: [securityGroup],
      defaultPort: Port.tcp(this.port),
    });
    this.authSecret = this.createAuthSecret(config);
    this.replicationGroup = this.createReplicationGroup(props, securityGroup.securityGroupId);
  }

  /** The variables that point a service at Redis over TLS, with the AUTH token's secret ARN. */
  environment(): Record<string, string> {
    return {
      REDIS_URL: `rediss://${this.replicationGroup.attrPrimaryEndPointAddress}:${this.port}`,
      REDIS_AUTH_SECRET_ARN: this.authSecret.secretArn,
    };
  }

  /** The AUTH token, in a form ElastiCache accepts. */
  private createAuthSecret(config: EnvironmentConfig): Secret {
    const secret = new Secret(this.host, 'RedisAuthToken', {
      secretName: `auralink-aic/${config.name}/redis-auth-token`,
      description: `AUTH token of the AuraLink AIC Redis replication group (${config.name})`,
      // ElastiCache accepts 16-128 printable characters except @, " and /: letters and digits only.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Secrets Manager has no rotation function for ElastiCache AUTH tokens; rotating one is a ' +
        'two-step modify-replication-group (ROTATE, then SET) that the README runbook describes.',
    });
    return secret;
  }

  /** The replication group with its subnet group and slow log. */
  private createReplicationGroup(
    props: RedisCacheProps,
    securityGroupId: string,
  ): CfnReplicationGroup {
    const { config } = props;
    const { cache } = config;
    const subnetGroup = new CfnSubnetGroup(this.host, 'RedisSubnets', {
      description: `AuraLink AIC Redis (${config.name})`,
      subnetIds: props.vpc.selectSubnets(props.subnets).subnetIds,
    });
    const slowLog = new LogGroup(this.host, 'RedisSlowLog', {
      logGroupName: `/auralink/aic/${config.name}/redis-slow-log`,
      retention: config.logRetentionDays,
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const group = new CfnReplicationGroup(this.host, 'Redis', {
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
      securityGroupIds: [securityGroupId],
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      // A dynamic reference: CloudFormation resolves it at deploy time; no value is in the template.
      authToken: this.authSecret.secretValue.unsafeUnwrap(),
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
    group.applyRemovalPolicy(
      config.retainOnDelete ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    );
    if (!cache.multiAz) {
      Validations.of(group).acknowledge({
        id: 'AwsSolutions-AEC4',
        reason: `Multi-AZ is a per-environment choice (cdk.json aic:environments.${config.name}.cache.multiAz) and required in prod by the configuration schema; ${config.name} keeps rate-limit state that the services survive losing (the limiter fails open).`,
      });
    }
    return group;
  }
}
