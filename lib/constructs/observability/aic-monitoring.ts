import type { Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import {
  type AlarmWithAnnotation,
  DefaultDashboardFactory,
  MonitoringFacade,
  SnsAlarmActionStrategy,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { monitorProduct } from './product-monitoring.ts';
import { type MonitoredResources, monitorResources } from './resource-monitoring.ts';
import {
  hardenSecretsMetricsPublisher,
  releaseStalePublisher,
} from './secrets-metrics-publisher.ts';
import { PERIOD } from './service-metrics.ts';

/** Properties of {@link AicMonitoring}. */
export interface AicMonitoringProps {
  /** The environment it is deployed to; its `alarms` thresholds apply. */
  readonly config: EnvironmentConfig;
  /** Where every alarm notifies, on ALARM and on OK. */
  readonly topic: ITopic;
  /** The resources of the environment to watch. */
  readonly resources: MonitoredResources;
}

/**
 * Every alarm and the dashboard of one environment, from one set of definitions: cdklabs'
 * `cdk-monitoring-constructs` watches each AWS resource with the metrics and alarm shapes it
 * knows (API Gateway, Lambda, RDS, ElastiCache, ECS and the NLB, SQS, Kinesis, Secrets Manager's
 * rotation age), the product's own metrics are added as custom groups, and the dashboard is drawn
 * from the same segments, so what pages an operator is also what they see.
 *
 * Every alarm notifies the alarm topic on ALARM and on OK, and its description ends with its
 * section of `docs/runbook.md`.
 */
export class AicMonitoring extends Construct {
  /** The facade the segments were added to. */
  readonly facade: MonitoringFacade;
  /** The environment's dashboard. */
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: AicMonitoringProps) {
    super(scope, id);
    const { config, topic } = props;
    const prefix = `auralink-aic-${config.name}`;
    const dashboards = new DefaultDashboardFactory(this, 'Dashboards', {
      dashboardNamePrefix: prefix,
      createDashboard: true,
      createSummaryDashboard: false,
      createAlarmDashboard: false,
    });
    this.facade = new MonitoringFacade(this, 'Facade', {
      metricFactoryDefaults: { period: PERIOD },
      alarmFactoryDefaults: {
        alarmNamePrefix: prefix,
        actionsEnabled: true,
        action: new SnsAlarmActionStrategy({ onAlarmTopic: topic, onOkTopic: topic }),
        // Two breaching five-minute periods of the last three: a single bad period pages nobody.
        datapointsToAlarm: 2,
        evaluationPeriods: 3,
      },
      dashboardFactory: dashboards,
    });
    monitorProduct(this.facade, { config, httpApi: props.resources.httpApi });
    releaseStalePublisher(this.facade);
    monitorResources(this.facade, config, props.resources);
    hardenSecretsMetricsPublisher(
      this.facade,
      config,
      Object.values(props.resources.rotatedSecrets),
    );
    if (!dashboards.dashboard) throw new Error('The monitoring dashboard was not created');
    this.dashboard = dashboards.dashboard;
  }

  /** Every alarm the facade created. */
  get alarms(): AlarmWithAnnotation[] {
    return this.facade.createdAlarms();
  }
}
