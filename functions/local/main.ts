// First: Powertools and the settings read these defaults when they are created.
import './defaults.ts';
import { join } from 'node:path';
import { warmUpImaging } from '../platform/imaging/warm-up.ts';
import { DEV_JWT_SECRET } from '../platform/jwt.ts';
import { loadSettings } from '../platform/settings.ts';
import { startLocalRuntime } from './local-runtime.ts';

const log = (line: string) => process.stderr.write(`[aic] ${line}\n`);

// Before serving, so that no caller's first frame pays for it (see warmUpImaging).
await warmUpImaging().catch((error: unknown) =>
  log(`imaging warm-up failed; the first frame will be slower: ${String(error)}`),
);
const settings = loadSettings();
const runtime = await startLocalRuntime({
  port: settings.PORT,
  host: settings.HOST,
  stateDir: settings.AIC_LOCAL_STATE_DIR ?? join(import.meta.dirname, '..', '..', '.aic-local'),
  log,
  grpcPort: settings.GRPC_PORT,
});

log(`HTTP API   ${runtime.api.url}  (try ${runtime.api.url}/readiness)`);
log(
  `gRPC       ${settings.HOST}:${runtime.grpc.port}  (send frames: npm run grpc:send -- <file-or-folder>)`,
);
log(`Postgres   ${runtime.uses.postgres}`);
log(`Redis      ${runtime.uses.redis}`);
log(`Metrics    ${runtime.uses.metrics}`);
log(`Prometheus ${runtime.api.url}/metrics  (the gRPC service's series)`);
log('Alerts     evaluated every minute (npm run alerts runs the evaluator once)');
if (!settings.AIC_JWT_SECRET) {
  log(
    `JWT        development signing key (${DEV_JWT_SECRET.slice(0, 12)}...); get a token: npm run token -- <user>`,
  );
}
log('Ctrl-C stops the API and everything it started.');

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  runtime
    .stop()
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      log(`shutdown failed: ${String(error)}`);
      process.exit(1);
    });
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
