import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorEnvelopeSchema } from '../../functions/core/contracts/errors.ts';
import { routes } from '../../functions/core/contracts/routes.ts';
import { handler } from '../../functions/handlers/dashboard.ts';
import type { AicContext } from '../../functions/http/request-context.ts';
import { lambdaContext, toApiGatewayEvent } from '../../functions/local/api-gateway-event.ts';
import { signToken } from '../../functions/platform/jwt.ts';
import { startTestApi, type TestApi } from '../support/local-api.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

/**
 * Found by the fuzz suite: a token whose `sub` held a NUL answered 500 (Postgres text cannot store
 * it), and subjects with different lone surrogates were all stored as U+FFFD, one user for several
 * identities. Such subjects are now refused with 401, by the local authorizer, by gRPC (same
 * check) and by the handlers when API Gateway's authorizer passes them on.
 */

const HOSTILE_SUBJECTS = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udc00x',
  'tab\there',
  'bell\u0007',
  'c1\u0085',
];
const CONFIG_PATH = routes.getConfig.path;

let db: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL: undefined,
    RATE_LIMIT_ROUTE_OVERRIDES: '{"*":"exempt"}',
  });
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

describe('token subjects that cannot be a user id', () => {
  it('are refused with 401 by the local authorizer', async () => {
    for (const sub of HOSTILE_SUBJECTS) {
      const token = await signToken(sub, api.jwt, 60);
      const response = await api.request(CONFIG_PATH, {
        headers: { authorization: `Bearer ${token}` },
      });
      const text = await response.text();
      expect(response.status, `${JSON.stringify(sub)}: ${text}`).toBe(401);
      expect(errorEnvelopeSchema.parse(JSON.parse(text)).error.code).toBe('UNAUTHORIZED');
    }
  });

  it('are refused with 401 when API Gateway passes their claims to the handler', async () => {
    for (const sub of HOSTILE_SUBJECTS) {
      const event = toApiGatewayEvent(
        {
          method: 'GET',
          url: CONFIG_PATH,
          headers: {},
          body: Buffer.alloc(0),
          sourceIp: '10.0.0.1',
        },
        { routeKey: `GET ${CONFIG_PATH}` },
      );
      Object.assign(event.requestContext, { authorizer: { jwt: { claims: { sub }, scopes: [] } } });
      const result = await handler(event, lambdaContext('aic-dashboard', 5000) as AicContext);
      expect(result.statusCode, JSON.stringify(sub)).toBe(401);
    }
  });

  it('still accept unicode subjects that are well formed', async () => {
    const token = await signToken('ünïcødé-用户-💥', api.jwt, 60);
    const response = await api.request(CONFIG_PATH, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
  });
});
