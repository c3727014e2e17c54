import { parseArgs } from 'node:util';
import { jwtSettingsFromEnv, signToken } from '../functions/platform/jwt.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    ttl: { type: 'string', default: String(12 * 3600) },
    // A claim besides `sub`, e.g. `--claim client_id=media-server-1` when AIC_TENANT_CLAIM=client_id.
    claim: { type: 'string', multiple: true, default: [] },
  },
});
const user = positionals[0];
const ttl = Number(values.ttl);
if (!user || user.length > 128 || !Number.isInteger(ttl) || ttl <= 0) {
  process.stderr.write('usage: npm run token -- <user> [--ttl seconds] [--claim name=value]...\n');
  process.exit(2);
}
const claims = Object.fromEntries(
  values.claim.map((pair) => {
    const at = pair.indexOf('=');
    return at > 0 ? [pair.slice(0, at), pair.slice(at + 1)] : [pair, ''];
  }),
);
process.stdout.write(`${await signToken(user, jwtSettingsFromEnv(), ttl, claims)}\n`);
