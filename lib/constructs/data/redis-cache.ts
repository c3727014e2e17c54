import { Arn, ArnFormat, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Connections, type IVpc, Port, type SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import {
  CfnReplicationGroup,
  CfnSubnetGroup,
  CfnUser,
  CfnUserGroup,
} from 'aws-cdk-lib/aws-elasticache';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { REDIS_ACCESS_STRING } from '../../../functions/core/contracts/redis-access.ts';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { privateSecurityGroup } from '../private-security-group.ts';
import { logEncryptionKey } from '../security/log-encryption-key.ts';
import { DATA_WINDOWS } from './data-windows.ts';

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
 * ElastiCache for Redis with role-based access control and no static secret: one replication group
 * (TLS required, encrypted at rest, daily snapshots, slow log in an encrypted log group with the
 * environment's retention) whose user group holds the services' user, which authenticates with
 * short-lived IAM auth tokens and may run only the commands of {@link REDIS_ACCESS_STRING}, and a
 * `default` user that is switched off, so a connection that does not authenticate can do nothing.
 */
export class RedisCache extends FlatConstruct {
  /** The Redis replication group. */
  readonly replicationGroup: CfnReplicationGroup;
  /** The services' user (IAM authentication). */
  readonly serviceUser: CfnUser;
  /** The replacement of the `default` user: off, with no command allowed. */
  readonly defaultUser: CfnUser;
  /** The user group of the replication group: the two users above. */
  readonly userGroup: CfnUserGroup;
  /** The replication group's ID (`REDIS_CACHE_NAME`). */
  readonly replicationGroupId: string;
  /** The services' user ID, which is also its user name (`REDIS_USER`). */
  readonly serviceUserId: string;
  /** Port of Redis. */
  readonly port: number;
  /** Who may connect to Redis. */
  readonly connections: Connections;

  constructor(scope: Construct, id: string, props: RedisCacheProps) {
    super(scope, id);
    const { config } = props;
    this.port = config.cache.port;
    // Fixed and lowercase, not generated: the IAM auth tokens name the replication group, and the
    // grants name it and the user before either exists.
    this.replicationGroupId = `auralink-aic-${config.name}`;
    // IAM authentication requires the user name to equal the user ID: one value is both.
    this.serviceUserId = `aic-app-${config.name}`;
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
    this.serviceUser = new CfnUser(this.host, 'RedisServiceUser', {
      engine: 'redis',
      userId: this.serviceUserId,
      userName: this.serviceUserId,
      accessString: REDIS_ACCESS_STRING,
      authenticationMode: { Type: 'iam' },
    });
    // Every user group needs a user named `default`, which is who a connection is before it
    // authenticates: this one is off and allowed nothing, and so needs no password to guard it.
    this.defaultUser = new CfnUser(this.host, 'RedisDefaultUser', {
      engine: 'redis',
      userId: `aic-default-${config.name}`,
      userName: 'default',
      accessString: 'off -@all',
      authenticationMode: { Type: 'no-password-required' },
    });
    // The Refs (the IDs) order the creation: users, then their group, then the replication group.
    this.userGroup = new CfnUserGroup(this.host, 'RedisUserGroup', {
      engine: 'redis',
      userGroupId: `aic-${config.name}`,
      userIds: [this.defaultUser.ref, this.serviceUser.ref],
    });
    this.replicationGroup = this.createReplicationGroup(props, securityGroup.securityGroupId);
  }

  /**
   * The variables that point a service at Redis over TLS, authenticating with IAM as the services'
   * user: the URL, the user and the replication group the tokens are signed for. No secret.
   */
  environment(): Record<string, string> {
    return {
      REDIS_URL: `rediss://${this.replicationGroup.attrPrimaryEndPointAddress}:${this.port}`,
      REDIS_IAM_AUTH: 'true',
      REDIS_USER: this.serviceUserId,
      REDIS_CACHE_NAME: this.replicationGroupId,
    };
  }

  /**
   * Lets `grantee` connect as the services' user: `elasticache:Connect` on the replication group
   * and on that user, which an IAM auth token for the pair needs, and on nothing else.
   */
  grantConnect(grantee: IGrantable): void {
    Grant.addToPrincipal({
      grantee,
      actions: ['elasticache:Connect'],
      resourceArns: [
        this.elastiCacheArn('replicationgroup', this.replicationGroupId),
        this.elastiCacheArn('user', this.serviceUserId),
      ],
    });
  }

  /**
   * `arn:<partition>:elasticache:<region>:<account>:<resource>:<id>`, from the fixed ID rather than
   * an attribute, so a grantee in another stack needs no export of it.
   */
  private elastiCacheArn(resource: string, resourceName: string): string {
    return Arn.format(
      { service: 'elasticache', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME },
      Stack.of(this.host),
    );
  }

  /** The replication group with its subnet group and slow log, on the user group. */
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
      encryptionKey: logEncryptionKey(this.host, config),
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const group = new CfnReplicationGroup(this.host, 'Redis', {
      replicationGroupId: this.replicationGroupId,
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
      // IAM authentication needs TLS (and Redis 7 or later).
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      userGroupIds: [this.userGroup.ref],
      snapshotRetentionLimit: cache.snapshotRetentionDays,
      snapshotWindow: DATA_WINDOWS.redisSnapshot,
      preferredMaintenanceWindow: DATA_WINDOWS.redisMaintenance,
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
    Validations.of(group).acknowledge({
      id: 'AwsSolutions-AEC6',
      reason:
        'Clients authenticate with role-based access control instead of an AUTH token (ElastiCache ' +
        'takes one or the other): the user group holds a service user that signs in with ' +
        'short-lived IAM auth tokens and a default user that is off, so no static secret exists.',
    });
    if (!cache.multiAz) {
      Validations.of(group).acknowledge({
        id: 'AwsSolutions-AEC4',
        reason: `Multi-AZ is a per-environment choice (cdk.json aic:environments.${config.name}.cache.multiAz) and required in prod by the configuration schema; ${config.name} keeps rate-limit state that the services survive losing (the limiter fails open).`,
      });
    }
    return group;
  }
}
