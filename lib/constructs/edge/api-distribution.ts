import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  OriginSslPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ORIGIN_VERIFY_HEADER } from '../../../functions/core/contracts/origin.ts';
import type { EnvironmentConfig } from '../../config/environment-config.ts';

/** Properties of {@link ApiDistribution}. */
export interface ApiDistributionProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The HTTP API behind it. */
  readonly api: IHttpApi;
  /** The web ACL (scope CLOUDFRONT) that filters every request before it is forwarded. */
  readonly webAclArn: string;
}

/**
 * The HTTP API's front door: a CloudFront distribution that caches nothing, forwards every method,
 * header (but `Host`), cookie and query string to the API, and filters requests through the web
 * ACL. It adds the origin secret in `x-aic-origin-verify` (replacing any value a viewer sent), so
 * the routes without a token can tell its requests from direct ones (docs/design.md section 6).
 */
export class ApiDistribution extends Construct {
  /** The distribution. */
  readonly distribution: Distribution;
  /** The value CloudFront sends in the origin header, generated once. */
  readonly originSecret: Secret;
  /** The customer-managed key (rotated yearly) that encrypts {@link originSecret}. */
  readonly originSecretKey: Key;

  constructor(scope: Construct, id: string, props: ApiDistributionProps) {
    super(scope, id);
    const { config, api } = props;
    // Readers need kms:Decrypt on it through Secrets Manager, which the secret's grantRead adds.
    // CloudFormation resolves the header's dynamic reference with the deploying role, which the
    // key policy's account statement leaves to IAM.
    this.originSecretKey = new Key(this, 'OriginSecretKey', {
      description: `AuraLink AIC origin secret (${config.name})`,
      enableKeyRotation: true,
      // Goes with the secret, the only data it encrypts.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.originSecret = new Secret(this, 'OriginSecret', {
      description: `Value CloudFront sends in ${ORIGIN_VERIFY_HEADER} to the AIC API (${config.name})`,
      generateSecretString: { excludePunctuation: true, passwordLength: 64 },
      encryptionKey: this.originSecretKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stack = Stack.of(this);
    this.distribution = new Distribution(this, 'Distribution', {
      comment: `AuraLink AIC HTTP API (${config.name})`,
      webAclId: props.webAclArn,
      httpVersion: HttpVersion.HTTP2_AND_3,
      enableIpv6: true,
      defaultBehavior: {
        origin: new HttpOrigin(`${api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`, {
          protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
          originSslProtocols: [OriginSslPolicy.TLS_V1_2],
          // API Gateway answers within 30 s (the functions stop at 25 s).
          readTimeout: Duration.seconds(30),
          customHeaders: {
            // A dynamic reference: CloudFormation resolves it; the template holds no value.
            [ORIGIN_VERIFY_HEADER]: this.originSecret.secretValue.unsafeUnwrap(),
          },
        }),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_ALL,
        // Every answer is per caller and per request: nothing may be served from a cache.
        cachePolicy: CachePolicy.CACHING_DISABLED,
        // Answers pass as the API sends them (frames are compressed images already).
        compress: false,
        // API Gateway rejects a Host other than its own; everything else reaches the handlers.
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      },
    });
    this.acknowledgeFindings();
  }

  private acknowledgeFindings(): void {
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'Clients of the API are anywhere their users are; the web ACL limits each client IP ' +
          'and blocks the addresses on the Amazon IP reputation list instead of whole countries.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          'Requests the web ACL blocks or counts are logged by WAF (aws-waf-logs-*), and every ' +
          'request it lets through is logged by the API stage as a JSON access log line.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The distribution serves its *.cloudfront.net name, whose certificate CloudFront ' +
          'manages; a minimum viewer TLS version needs a custom domain and its certificate, ' +
          'which the environments do not configure yet (docs/design.md section 6).',
      },
    );
    const rotation =
      'CloudFront reads the value when the stack deploys; a rotation in Secrets Manager alone ' +
      'would make the distribution and the authorizer disagree. It only proves a request came ' +
      'through CloudFront; operators replace it by hand, a new value first, then the ' +
      "distribution's origin header (docs/deploying.md, Rotation).";
    Validations.of(this.originSecret).acknowledge(
      { id: 'AwsSolutions-SMG4', reason: rotation },
      { id: 'NIST.800.53.R5-SecretsManagerRotationEnabled', reason: rotation },
    );
  }
}
