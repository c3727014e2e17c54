import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccountRecovery, Mfa, UserPool, type UserPoolClient } from 'aws-cdk-lib/aws-cognito';
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
}

/** The issuer configured in `cdk.json` (`jwt`); its JWKS defaults to the OpenID location. */
export function configuredIssuer(jwt: NonNullable<EnvironmentConfig['jwt']>): TokenIssuer {
  return {
    issuer: jwt.issuer,
    audience: jwt.audience,
    jwksUrl: jwt.jwksUrl ?? issuerJwksUrl(jwt.issuer),
  };
}

/** Properties of {@link CognitoIssuer}. */
export interface CognitoIssuerProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
}

/**
 * The token issuer of an environment that configures none: a Cognito user pool (administrators
 * create the users, strong passwords, TOTP MFA required) with one public app client, whose id is
 * the audience. Users sign in with SRP; the tokens carry the pool's issuer URL.
 */
export class CognitoIssuer extends Construct {
  /** The user pool. */
  readonly userPool: UserPool;
  /** The app client whose id the API accepts as audience. */
  readonly client: UserPoolClient;
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
    // The form API Gateway's Cognito authorizer uses; `ProviderURL` lacks the scheme.
    const issuer = `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${this.userPool.userPoolId}`;
    this.tokenIssuer = {
      issuer,
      audience: [this.client.userPoolClientId],
      jwksUrl: issuerJwksUrl(issuer),
    };
  }
}
