/** Lambda functions CloudFormation runs during a deployment, outside the route table and schedule. */
export type DeployFunctionName = 'databaseBootstrap' | 'migrate';

/** A function run at deploy time: its entry and what it does. */
export interface DeployFunction {
  /** Entry point relative to the repository root. */
  readonly entry: string;
  readonly description: string;
}

/** The deploy-time functions; the data stack runs each from a trigger, in this order. */
export const DEPLOY_FUNCTIONS: Readonly<Record<DeployFunctionName, DeployFunction>> = {
  databaseBootstrap: {
    entry: 'functions/handlers/database-bootstrap.ts',
    description:
      'Gives the app and migrator roles their logins from their secrets, hands the schema to the ' +
      'migrator and bounds the app role, as the master user',
  },
  migrate: {
    entry: 'functions/handlers/migrate.ts',
    description: 'Applies the schema migrations before the new code is deployed',
  },
};

/**
 * The reserved concurrency of every deploy-time function: one, so two deploy steps (a retried
 * trigger, two deployments of the same stage) never run at once; a second invocation is throttled
 * and fails its deployment instead of racing the first.
 */
export const DEPLOY_FUNCTION_CONCURRENCY = 1;
