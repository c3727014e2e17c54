import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } from 'cdk-nag';
import { AicStage } from './aic-stage.ts';
import {
  ENVIRONMENT_NAMES,
  type EnvironmentName,
  loadEnvironmentConfigs,
} from './config/environment-config.ts';

/**
 * Adds one {@link AicStage} per environment of the `aic:environments` context to `app` and
 * registers the cdk-nag packs (AwsSolutions, Serverless, NIST 800-53 rev. 5) as validation plugins,
 * so synthesis fails on any finding that is not acknowledged with a reason.
 *
 * @returns the stages, by environment name.
 */
export function buildAicApp(app: App): Record<EnvironmentName, AicStage> {
  const configs = loadEnvironmentConfigs(app);
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new ServerlessChecks(app),
    new NIST80053R5Checks(app),
  );
  const stages = {} as Record<EnvironmentName, AicStage>;
  for (const name of ENVIRONMENT_NAMES) {
    stages[name] = new AicStage(app, name, { config: configs[name] });
  }
  return stages;
}
