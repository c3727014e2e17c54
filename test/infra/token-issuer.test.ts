import type { CfnResource } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENVIRONMENTS_CONTEXT_KEY } from '../../lib/config/environment-config.ts';
import {
  cdkJsonContext,
  logicalId,
  type Resources,
  type SynthesizedApp,
  synthAicApp,
} from './app-fixture.ts';

let synthesized: SynthesizedApp;

/** Synthesizes the app with `jwt` removed from staging (cdk-nag runs during synthesis). */
beforeAll(() => {
  const environments = structuredClone(cdkJsonContext()[ENVIRONMENTS_CONTEXT_KEY]) as Record<
    string,
    Record<string, unknown>
  >;
  delete environments.staging?.jwt;
  synthesized = synthAicApp({ context: { [ENVIRONMENTS_CONTEXT_KEY]: environments } });
});

const idOf = (construct: IConstruct) => logicalId(construct.node.defaultChild as CfnResource);

describe('an environment without a configured issuer', () => {
  it('gets a Cognito user pool: strong passwords, TOTP MFA required, invitation only', () => {
    const template = synthesized.templates.staging.api;
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      UserPoolName: 'auralink-aic-staging',
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Policies: {
        PasswordPolicy: Match.objectLike({
          MinimumLength: 14,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        }),
      },
    });
    // staging keeps nothing on delete (cdk.json retainOnDelete: false).
    template.hasResource('AWS::Cognito::UserPool', { DeletionPolicy: 'Delete' });
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      PreventUserExistenceErrors: 'ENABLED',
    });
    // The environments with an issuer get no pool.
    synthesized.templates.dev.api.resourceCountIs('AWS::Cognito::UserPool', 0);
  });

  it('points the JWT authorizer at the pool: its issuer URL and both app clients as audience', () => {
    const { api } = synthesized.stages.staging;
    const pool = idOf(api.cognito?.userPool as IConstruct);
    const client = idOf(api.cognito?.client as IConstruct);
    const servers = idOf(api.cognito?.serverClient as IConstruct);
    synthesized.templates.staging.api.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: {
        Issuer: {
          'Fn::Join': [
            '',
            ['https://cognito-idp.', { Ref: 'AWS::Region' }, '.amazonaws.com/', { Ref: pool }],
          ],
        },
        Audience: [{ Ref: client }, { Ref: servers }],
      },
    });
  });

  it('accepts on every route that needs a token only the API scope or a signed-in user’s', () => {
    const template = synthesized.templates.staging.api;
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route') as Resources);
    const withJwt = routes.filter((route) => route.Properties.AuthorizationType === 'JWT');
    expect(withJwt.length).toBeGreaterThan(5);
    for (const route of withJwt) {
      expect(route.Properties.AuthorizationScopes).toEqual([
        'auralink-aic/api',
        'aws.cognito.signin.user.admin',
      ]);
    }
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: true,
      AllowedOAuthFlows: ['client_credentials'],
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Identifier: 'auralink-aic',
      Scopes: [{ ScopeName: 'api', ScopeDescription: Match.anyValue() }],
    });
  });

  it("has the gRPC task verify the pool's tokens against its JWKS", () => {
    const definitions = Object.values(
      synthesized.templates.staging.grpc.findResources('AWS::ECS::TaskDefinition'),
    ).flatMap(
      (resource) =>
        (
          resource as {
            Properties: {
              ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[];
            };
          }
        ).Properties.ContainerDefinitions,
    );
    const variables = Object.fromEntries(
      (definitions[0]?.Environment ?? []).map((variable) => [variable.Name, variable.Value]),
    );
    expect(variables.AIC_JWT_VERIFY).toBe('jwks');
    expect(variables.AIC_DEPLOYMENT).toBe('aws');
    expect(variables.AIC_JWT_TOKEN_USE).toBe('access');
    expect(variables.AIC_JWT_SCOPES).toBe('auralink-aic/api,aws.cognito.signin.user.admin');
    for (const name of ['AIC_JWT_ISSUER', 'AIC_JWT_JWKS_URL', 'AIC_JWT_AUDIENCE']) {
      // Cross-stack references to the API stack's pool and client.
      expect(JSON.stringify(variables[name]), name).toMatch(
        /Fn::ImportValue.*auralink-aic-staging-api/,
      );
    }
    expect(JSON.stringify(variables.AIC_JWT_JWKS_URL)).toContain('/.well-known/jwks.json');
  });
});
