import { App, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ENVIRONMENT_NAMES,
  type EnvironmentConfig,
  type EnvironmentName,
  loadEnvironmentConfigs,
} from '../../lib/config/environment-config.ts';
import { NetworkStack } from '../../lib/stacks/network-stack.ts';
import { logicalId, type Resources, type SynthesizedApp, synthAicApp } from './app-fixture.ts';

let synthesized: SynthesizedApp;
let configs: Record<EnvironmentName, EnvironmentConfig>;

beforeAll(() => {
  synthesized = synthAicApp();
  configs = loadEnvironmentConfigs(synthesized.app);
});

const template = (env: EnvironmentName) => synthesized.templates[env].network;

/** Route tables that send 0.0.0.0/0 somewhere, by the target property (GatewayId, NatGatewayId). */
function defaultRouteTargets(network: Template): string[] {
  const routes = Object.values(network.findResources('AWS::EC2::Route') as Resources);
  return routes
    .filter((route) => route.Properties.DestinationCidrBlock === '0.0.0.0/0')
    .flatMap((route) => Object.keys(route.Properties).filter((key) => key.endsWith('Id')))
    .filter((key) => key !== 'RouteTableId');
}

describe('the network stack', () => {
  it('builds a VPC per environment from its CIDR, over two Availability Zones', () => {
    const cidrs = new Set<string>();
    for (const env of ENVIRONMENT_NAMES) {
      template(env).hasResourceProperties('AWS::EC2::VPC', {
        CidrBlock: configs[env].network.vpcCidr,
        EnableDnsHostnames: true,
        EnableDnsSupport: true,
      });
      cidrs.add(configs[env].network.vpcCidr);
      // public, app and data subnets in each of the two zones
      expect(Object.keys(template(env).findResources('AWS::EC2::Subnet'))).toHaveLength(6);
    }
    expect(cidrs.size).toBe(ENVIRONMENT_NAMES.length);
  });

  it('routes every environment out through its NAT gateways (the gRPC task fetches the issuer keys)', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const nat = configs[env].network.natGateways;
      expect(nat).toBeGreaterThanOrEqual(1);
      expect(Object.keys(template(env).findResources('AWS::EC2::NatGateway'))).toHaveLength(nat);
    }
    expect(configs.prod.network.natGateways).toBe(2);
  });

  it('gives only the public subnets a route out when no NAT gateway is configured', () => {
    const config = { ...configs.dev, network: { vpcCidr: '10.98.0.0/16', natGateways: 0 } };
    const network = Template.fromStack(new NetworkStack(new App(), 'WithoutNat', { config }));
    expect(Object.keys(network.findResources('AWS::EC2::NatGateway'))).toHaveLength(0);
    // One internet route per public subnet, nothing else leaves the VPC.
    expect(defaultRouteTargets(network)).toEqual(['GatewayId', 'GatewayId']);
  });

  it('routes the application subnets through NAT gateways when the configuration asks', () => {
    const config = { ...configs.dev, network: { vpcCidr: '10.99.0.0/16', natGateways: 1 } };
    const app = new App();
    const stack = new NetworkStack(app, 'WithNat', { config });
    const network = Template.fromStack(stack);
    expect(Object.keys(network.findResources('AWS::EC2::NatGateway'))).toHaveLength(1);
    expect(defaultRouteTargets(network).sort()).toEqual(
      ['GatewayId', 'GatewayId', 'NatGatewayId', 'NatGatewayId'].sort(),
    );
    expect(stack.vpc.selectSubnets({ subnetGroupName: 'data' }).subnets).toHaveLength(2);
    expect(stack.vpc.isolatedSubnets.map((subnet) => subnet.node.path)).toEqual(
      stack.vpc.selectSubnets({ subnetGroupName: 'data' }).subnets.map((s) => s.node.path),
    );
  });

  it('has private interface endpoints for Secrets Manager, Logs, ECR and X-Ray, and S3', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const endpoints = Object.values(
        template(env).findResources('AWS::EC2::VPCEndpoint') as Resources,
      );
      // `com.amazonaws.<region>.<service>`, joined at deploy time: the last part is the service.
      const services = endpoints.map((endpoint) => {
        const name = endpoint.Properties.ServiceName as { 'Fn::Join': [string, unknown[]] };
        return String(name['Fn::Join'][1].at(-1)).replace(/^\./, '');
      });
      expect(services.sort()).toEqual(
        ['ecr.api', 'ecr.dkr', 'logs', 's3', 'secretsmanager', 'xray'].sort(),
      );
      for (const endpoint of endpoints) {
        if (endpoint.Properties.VpcEndpointType === 'Interface') {
          expect(endpoint.Properties.PrivateDnsEnabled).toBe(true);
        }
      }
    }
  });

  it('opens the endpoints to HTTPS from the VPC only', () => {
    for (const env of ENVIRONMENT_NAMES) {
      template(env).hasResourceProperties('AWS::EC2::SecurityGroup', {
        SecurityGroupIngress: [
          {
            CidrIp: configs[env].network.vpcCidr,
            FromPort: 443,
            ToPort: 443,
            IpProtocol: 'tcp',
            Description: 'HTTPS to AWS APIs from the VPC',
          },
        ],
      });
    }
  });

  it("logs rejected traffic to a log group with the configured retention and the stack's log key", () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { network } = synthesized.stages[env];
      const id = (path: string) =>
        logicalId(network.node.findChild(path).node.defaultChild as CfnResource);
      template(env).hasResourceProperties('AWS::EC2::FlowLog', {
        ResourceType: 'VPC',
        TrafficType: 'REJECT',
        LogDestinationType: 'cloud-watch-logs',
        DeliverLogsPermissionArn: { 'Fn::GetAtt': [id('FlowLogRole'), 'Arn'] },
      });
      template(env).hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: `/auralink/aic/${env}/vpc-flow-logs`,
        RetentionInDays: configs[env].logRetentionDays,
        KmsKeyId: { 'Fn::GetAtt': [id('LogsKey'), 'Arn'] },
      });
      template(env).resourceCountIs('AWS::Logs::LogGroup', 1);
      template(env).hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      // The flow log role may write to that log group only, through its managed policy.
      const policy = network.node.findChild('FlowLogRole').node.findChild('Policy');
      const policies = template(env).findResources('AWS::IAM::ManagedPolicy') as Resources;
      const document = policies[logicalId(policy.node.defaultChild as CfnResource)]?.Properties
        .PolicyDocument as { Statement: { Action: string[]; Resource: unknown }[] } | undefined;
      expect(document?.Statement.map((statement) => statement.Resource)).toEqual([
        { 'Fn::GetAtt': [id('FlowLogs'), 'Arn'] },
      ]);
    }
  });

  it('assigns no public IP to anything launched in the public subnets', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const subnets = Object.values(template(env).findResources('AWS::EC2::Subnet') as Resources);
      expect(subnets).toHaveLength(6);
      for (const subnet of subnets) {
        expect(subnet.Properties.MapPublicIpOnLaunch ?? false).toBe(false);
      }
    }
  });
});
