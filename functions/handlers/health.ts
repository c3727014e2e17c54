import { defaultRoute } from '../http/default-route.ts';
import { createFunctionHandler } from '../http/function-handler.ts';
import { openApiDocument } from '../http/openapi.ts';
import { checkReadiness } from '../platform/readiness.ts';
import { SERVICE_VERSION } from '../platform/version.ts';

const startedAt = Date.now();

const liveness = () => ({
  body: {
    status: 'ok' as const,
    service: 'auralink-aic',
    version: SERVICE_VERSION,
    uptime_s: Math.round((Date.now() - startedAt) / 1000),
  },
});

/**
 * Lambda entry of the health function: `/health`, `/liveness`, `/readiness`, `/openapi.json` and
 * `$default`.
 */
export const handler = createFunctionHandler(
  'health',
  {
    health: liveness,
    liveness,
    // Generated from the route table on first use, then served from memory.
    openApi: () => ({ body: openApiDocument(SERVICE_VERSION) }),
    readiness: async () => {
      const body = await checkReadiness();
      return { statusCode: body.status === 'not_ready' ? 503 : 200, body };
    },
  },
  { defaultRoute },
);
