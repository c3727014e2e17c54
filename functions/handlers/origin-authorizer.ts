import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { logger } from '../platform/observability.ts';
import {
  createOriginAuthorizer,
  createOriginVerifier,
  ORIGIN_SECRET_MAX_AGE_MS,
} from '../platform/origin-verify.ts';
import { createSecretsLoader } from '../platform/secrets.ts';
import { loadSettings } from '../platform/settings.ts';

const secretArn = loadSettings().ORIGIN_VERIFY_SECRET_ARN;
const secrets = createSecretsLoader({
  client: new SecretsManagerClient({}),
  maxAgeMs: ORIGIN_SECRET_MAX_AGE_MS,
});

/**
 * Lambda entry of the origin authorizer: the routes without a token admit only requests that came
 * through CloudFront (docs/design.md section 6). Without its secret it admits nothing.
 */
export const handler = createOriginAuthorizer(
  createOriginVerifier(async () => {
    if (!secretArn) {
      logger.error('ORIGIN_VERIFY_SECRET_ARN is not set: refusing every request');
      return '';
    }
    return secrets.getSecret(secretArn);
  }),
);
