import { UnauthorizedError } from '../../core/errors.ts';
import { tenantFromClaims } from '../../core/subject.ts';
import type { HttpMiddleware } from './types.ts';

/**
 * Requires an authenticated caller on routes marked `auth`. The token itself is checked before the
 * handler runs (API Gateway's JWT authorizer on AWS, the local runtime's authorizer here); this reads
 * the claims they pass on and makes the tenant they name (`tenantClaim`, `AIC_TENANT_CLAIM`) the
 * caller: everything the request reads or writes is the tenant's.
 */
export function authMiddleware(tenantClaim: string): HttpMiddleware {
  return {
    name: 'auth',
    before: (request) => {
      const { aic } = request.context;
      if (!aic.route?.auth) return;
      const authorizer = (
        request.event.requestContext as {
          authorizer?: { jwt?: { claims?: Record<string, unknown> } };
        }
      ).authorizer;
      const tenant = tenantFromClaims(authorizer?.jwt?.claims, tenantClaim);
      if (tenant === undefined) throw new UnauthorizedError();
      aic.userId = tenant;
    },
  };
}
