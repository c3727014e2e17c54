import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FlatConstruct } from '../flat-construct.ts';

/** Properties of {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /** The environment it is deployed to; its alarm address subscribes. */
  readonly config: EnvironmentConfig;
}

/**
 * The SNS topic alarms notify, encrypted with a customer-managed key (rotated yearly) that
 * CloudWatch may use, with the environment's alarm e-mail address subscribed.
 */
export class AlarmTopic extends FlatConstruct {
  /** The topic. */
  readonly topic: Topic;
  /** The topic's encryption key. */
  readonly key: Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const { config } = props;
    this.key = new Key(this.host, 'AlarmTopicKey', {
      description: `AuraLink AIC alarm topic (${config.name})`,
      enableKeyRotation: true,
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic with this key.
    this.key.grant(
      new ServicePrincipal('cloudwatch.amazonaws.com'),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    this.topic = new Topic(this.host, 'AlarmTopic', {
      topicName: `auralink-aic-${config.name}-alarms`,
      displayName: `AuraLink AIC alarms (${config.name})`,
      masterKey: this.key,
      enforceSSL: true,
    });
    const subscription = this.topic.addSubscription(new EmailSubscription(config.alarmEmail));
    Validations.of(subscription).acknowledge({
      id: 'Serverless-SNSRedrivePolicy',
      reason:
        'A notification e-mail that cannot be delivered loses nothing: the alarm keeps its state ' +
        'in CloudWatch and on the dashboard, and the OK/ALARM transitions are in its history.',
    });
  }
}
