import { setTimeout as sleep } from 'node:timers/promises';
import type { CheckResult } from '../core/contracts/health.ts';
import { readinessOf } from '../core/readiness.ts';
import { defaultRoute } from '../http/default-route.ts';
import { createFunctionHandler } from '../http/function-handler.ts';
import { getRuntime, initialisationCheck, postgresCheck } from '../platform/runtime.ts';
import { SERVICE_VERSION } from '../platform/version.ts';

const startedAt = Date.now();

/** How long readiness waits for a cold start before answering "initialising". */
const READINESS_INIT_WAIT_MS = 1500;

const liveness = () => ({
  body: {
    status: 'ok' as const,
    service: 'auralink-aic',
    version: SERVICE_VERSION,
    uptime_s: Math.round((Date.now() - startedAt) / 1000),
  },
});

const notChecked: CheckResult = {
  status: 'fail',
  latency_ms: 0,
  detail: 'not checked: not initialised',
};

/** Lambda entry of the health function: `/health`, `/liveness`, `/readiness` and `$default`. */
export const handler = createFunctionHandler(
  'health',
  {
    health: liveness,
    liveness,
    readiness: async () => {
      const runtime = await Promise.race([
        getRuntime().catch(() => undefined),
        sleep(READINESS_INIT_WAIT_MS, undefined),
      ]);
      const [postgres, redis] = runtime
        ? await Promise.all([
            postgresCheck(runtime.db),
            runtime.redis
              ? runtime.redis.ping()
              : ({
                  status: 'degraded',
                  latency_ms: 0,
                  detail: 'not configured',
                } satisfies CheckResult),
          ])
        : [notChecked, notChecked];
      const body = readinessOf({ initialisation: initialisationCheck(), postgres, redis });
      return { statusCode: body.status === 'not_ready' ? 503 : 200, body };
    },
  },
  { defaultRoute },
);
