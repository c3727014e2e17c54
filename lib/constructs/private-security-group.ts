import { type IVpc, SecurityGroup } from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';

/**
 * A security group that allows no egress until a rule adds it: every group of the application
 * opens exactly the ports its members use.
 */
export function privateSecurityGroup(
  scope: Construct,
  id: string,
  vpc: IVpc,
  description: string,
): SecurityGroup {
  return new SecurityGroup(scope, id, { vpc, description, allowAllOutbound: false });
}
