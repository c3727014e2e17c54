import { Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccountRecovery,
  Mfa,
  OAuthScope,
  ResourceServerScope,
  UserPool,
  type UserPoolClient,
} from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { issuerJwksUrl } from '../../functions/core/token-issuer.ts';
import type { EnvironmentConfig } from '../config/environment-config.ts';

/** Who signs the bearer tokens of an environment, as the HTTP API and the gRPC service check them. */
export interface TokenIssuer {
  /** The `iss` claim, an https URL (API Gateway reads its OpenID configuration). */
  readonly issuer: string;
  /** Accepted `aud` (or `client_id`) values; at least one. */
  readonly audience: readonly string[];
  /** The issuer's public keys, which the gRPC service verifies tokens with. */
  readonly jwksUrl: string;
  /** The `token_use` a token must carry (`access` for Cognito); undefined: not checked. */
  readonly tokenUse?: string;
  /**
   * Scopes of which a token must hold one, checked by API Gateway on every route that needs a
   * token and by the gRPC task; undefined: not checked.
   */
  readonly scopes?: readonly string[];
}

/** The issuer configured in `cdk.json` (`jwt`); its JWKS defaults to the OpenID location. */
export function configuredIssuer(jwt: NonNullable<EnvironmentConfig['jwt']>): TokenIssuer {
  return {
    issuer: jwt.issuer,
    audience: jwt.audience,
    jwksUrl: jwt.jwksUrl ?? issuerJwksUrl(jwt.issuer),
    ...(jwt.tokenUse ? { tokenUse: jwt.tokenUse } : {}),
    ...(jwt.scopes ? { scopes: jwt.scopes } : {}),
  };
}

/** The scope of the API in the fallback pool's resource server: `auralink-aic/api`. */
export const API_SCOPE = { server: 'auralink-aic', name: 'api' } as const;

/** The scope every access token of a user signed in with SRP carries. */
const SIGNED_IN_USER_SCOPE = 'aws.cognito.signin.user.admin';

/** Properties of {@link CognitoIssuer}. */
export interface CognitoIssuerProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
}

/**
 * The token issuer of an environment that configures none: a Cognito user pool (administrators
 * create the users, strong passwords, TOTP MFA required) with a public app client for users (SRP)
 * and a confidential one for media servers (client credentials, scope `auralink-aic/api`), whose
 * ids are the audience. Only access tokens are accepted, holding the API's scope or a signed-in
 * user's: ID tokens, which carry no scope, are refused by API Gateway and the gRPC task alike.
 */
export class CognitoIssuer extends Construct {
  /** The user pool. */
  readonly userPool: UserPool;
  /** The users' app client, whose id the API accepts as audience. */
  readonly client: UserPoolClient;
  /** The media servers' app client (client credentials), whose id the API accepts as audience. */
  readonly serverClient: UserPoolClient;
  /** The pool's issuer, audience and JWKS. */
  readonly tokenIssuer: TokenIssuer;

  constructor(scope: Construct, id: string, props: CognitoIssuerProps) {
    super(scope, id);
    const { config } = props;
    this.userPool = new UserPool(this, 'UserPool', {
      userPoolName: `auralink-aic-${config.name}`,
      // Users are operators and customers' integrations, invited by an administrator.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
      },
      // TOTP only: SMS would need an SNS role and a sandbox exit, and is the weaker factor.
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      deletionProtection: config.retainOnDelete,
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // Threat protection (COG3) is a feature of the Plus plan (COG8), billed per monthly active user.
    const essentialsPlan =
      'The fallback pool of an environment without its own issuer stays on the Essentials plan: ' +
      'users are invited only, with 14-character passwords and TOTP MFA required. Threat ' +
      'protection needs the Plus plan, billed per monthly active user; an environment that ' +
      'needs it configures its own issuer (cdk.json jwt).';
    Validations.of(this.userPool).acknowledge(
      { id: 'AwsSolutions-COG3', reason: essentialsPlan },
      { id: 'AwsSolutions-COG8', reason: essentialsPlan },
    );
    this.client = this.userPool.addClient('AppClient', {
      userPoolClientName: `auralink-aic-${config.name}`,
      // A public client (browser, CLI): no secret it could not keep.
      generateSecret: false,
      authFlows: { userSrp: true },
      preventUserExistenceErrors: true,
    });
    this.serverClient = this.addServerClient(config);
    // The form API Gateway's Cognito authorizer uses; `ProviderURL` lacks the scheme.
    const issuer = `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${this.userPool.userPoolId}`;
    this.tokenIssuer = {
      issuer,
      audience: [this.client.userPoolClientId, this.serverClient.userPoolClientId],
      jwksUrl: issuerJwksUrl(issuer),
      tokenUse: 'access',
      scopes: [`${API_SCOPE.server}/${API_SCOPE.name}`, SIGNED_IN_USER_SCOPE],
    };
  }

  /**
   * The media servers' client: a secret, the client-credentials flow on the pool's domain, and the
   * API's scope from a resource server of its own.
   */
  private addServerClient(config: EnvironmentConfig): UserPoolClient {
    const scope = new ResourceServerScope({
      scopeName: API_SCOPE.name,
      scopeDescription: 'Compress frames and read the dashboards of the client tenant',
    });
    const server = this.userPool.addResourceServer('ResourceServer', {
      identifier: API_SCOPE.server,
      scopes: [scope],
    });
    this.userPool.addDomain('Domain', {
      cognitoDomain: {
        domainPrefix: `auralink-aic-${config.name}-${Names.uniqueId(this).slice(-8).toLowerCase()}`,
      },
    });
    return this.userPool.addClient('ServerClient', {
      userPoolClientName: `auralink-aic-${config.name}-servers`,
      generateSecret: true,
      authFlows: {},
      oAuth: {
        flows: { clientCredentials: true },
        scopes: [OAuthScope.resourceServer(server, scope)],
      },
      preventUserExistenceErrors: true,
    });
  }
}
