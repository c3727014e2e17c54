import { UnauthorizedError } from '../../core/errors.ts';
import { isUsableSubject } from '../../core/subject.ts';
import type { HttpMiddleware } from './types.ts';

/**
 * Requires an authenticated caller on routes marked `auth`. The token itself is checked before the
 * handler runs (API Gateway's JWT authorizer on AWS, the local runtime's authorizer here); this reads
 * the claims they pass on and makes `sub` the user.
 */
export function authMiddleware(): HttpMiddleware {
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
      const sub = authorizer?.jwt?.claims?.sub;
      if (!isUsableSubject(sub)) throw new UnauthorizedError();
      aic.userId = sub;
    },
  };
}
