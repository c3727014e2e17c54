import {
  type AddToPrincipalPolicyResult,
  ManagedPolicy,
  type PolicyStatement,
  Role,
  type RoleProps,
} from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/**
 * A role whose permissions live in one customer-managed policy of its own instead of an inline
 * policy: every grant (`grantRead`, `addToPolicy`, ...) lands in that policy, which IAM versions
 * (the last five versions can be compared and restored) and which access reviews list as a
 * resource of its own. Managed policies attached by ARN (`managedPolicies`) work as on any role.
 */
export class ManagedPolicyRole extends Role {
  private policy?: ManagedPolicy;

  constructor(scope: Construct, id: string, props: RoleProps) {
    super(scope, id, props);
  }

  /** Adds `statement` to the role's own managed policy, created with its first statement. */
  override addToPrincipalPolicy(statement: PolicyStatement): AddToPrincipalPolicyResult {
    if (!this.policy) {
      // Created on first use: IAM refuses a managed policy without a statement.
      this.policy = new ManagedPolicy(this, 'Policy', {
        description: `Permissions of ${this.node.path}`,
        roles: [this],
      });
    }
    this.policy.addStatements(statement);
    return { statementAdded: true, policyDependable: this.policy };
  }
}
