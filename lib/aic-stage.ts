import { Stage, type StageProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from './config/environment-config.ts';
import { ApiStack } from './stacks/api-stack.ts';

/** Properties of {@link AicStage}. */
export interface AicStageProps extends StageProps {
  /** The environment this stage deploys. */
  readonly config: EnvironmentConfig;
}

/**
 * Everything one environment deploys. Environment-agnostic on purpose: the account and region
 * come from the deploying credentials, so synthesis needs no AWS access.
 */
export class AicStage extends Stage {
  /** The HTTP API and its functions. */
  readonly api: ApiStack;

  constructor(scope: Construct, id: string, props: AicStageProps) {
    super(scope, id, props);
    const { config } = props;
    Tags.of(this).add('project', 'auralink-aic');
    Tags.of(this).add('environment', config.name);

    this.api = new ApiStack(this, 'Api', {
      stackName: `auralink-aic-${config.name}-api`,
      description: `AuraLink AIC HTTP API and Lambda functions (${config.name})`,
      config,
    });
  }
}
