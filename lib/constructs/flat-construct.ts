import { Construct } from 'constructs';

/**
 * A construct that gives one job to some of its parent's resources without adding a level to their
 * construct paths: subclasses create them in {@link FlatConstruct.host}, the scope the construct
 * was added to, not in `this`.
 *
 * CloudFormation logical IDs are derived from construct paths, and a resource whose logical ID
 * changes is replaced: a database or secret nested one level deeper would be deployed as a new,
 * empty one. Created in the host, the resources keep the paths, logical IDs and cdk-nag
 * acknowledgements (applied by path) of direct children of the stack.
 */
export abstract class FlatConstruct extends Construct {
  /** The scope the resources are created in: the one this construct was added to. */
  protected readonly host: Construct;

  protected constructor(scope: Construct, id: string) {
    super(scope, id);
    this.host = scope;
  }
}
