import { parseArgs } from 'node:util';
import { jwtSettingsFromEnv, signToken } from '../functions/platform/jwt.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { ttl: { type: 'string', default: String(12 * 3600) } },
});
const user = positionals[0];
const ttl = Number(values.ttl);
if (!user || user.length > 128 || !Number.isInteger(ttl) || ttl <= 0) {
  process.stderr.write('usage: npm run token -- <user> [--ttl seconds]\n');
  process.exit(2);
}
process.stdout.write(`${await signToken(user, jwtSettingsFromEnv(), ttl)}\n`);
