/**
 * The token settings a process on AWS must not have, checked without loading the token verifier:
 * the Lambdas behind API Gateway verify no token themselves, and their cold start should not pay
 * for `jose` to refuse a setting.
 */
import type { Settings } from './settings.ts';

/**
 * Refuses, where `AIC_DEPLOYMENT=aws`, any shared signing key: no HS256 key exists on AWS, so an
 * `AIC_JWT_SECRET` or `AIC_JWT_VERIFY=hs256` there is a mistake, named at start (the Lambdas call
 * it at initialisation; every process that verifies tokens, through `jwtSettings` in `jwt.ts`).
 *
 * @throws Error naming the setting.
 */
export function assertNoSharedKey(settings: Settings): void {
  if (settings.AIC_DEPLOYMENT !== 'aws') return;
  if (settings.AIC_JWT_SECRET !== undefined) {
    throw new Error('AIC_JWT_SECRET: no shared signing key is accepted where AIC_DEPLOYMENT=aws');
  }
  if (settings.AIC_JWT_VERIFY === 'hs256') {
    throw new Error('AIC_JWT_VERIFY: hs256 is refused where AIC_DEPLOYMENT=aws');
  }
}
