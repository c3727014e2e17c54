/**
 * A private `redis-server` (on a free port, killed by the test) with role-based access control as
 * on ElastiCache: the services' user `aic` with {@link REDIS_ACCESS_STRING}, an `admin` user for
 * the test's own commands (rotations, CLIENT KILL, ACL LOG) and the `default` user off.
 */
import { Redis } from 'ioredis';
import { REDIS_ACCESS_STRING } from '../../../functions/core/contracts/redis-access.ts';
import { type OwnRedis, startOwnRedis } from '../../support/own-redis.ts';

/** The services' user name on the test server. */
export const SERVICE_USER = 'aic';

const ADMIN_PASSWORD = 'admin-password-for-tests';

/** A running server and the test's admin connection to it. */
export interface AclRedis {
  readonly server: OwnRedis;
  /** `redis://aic@127.0.0.1:<port>`: the service user, without a password. */
  readonly serviceUrl: string;
  readonly admin: Redis;
  /** `ACL SETUSER aic <rules...>`. */
  setUser(...rules: string[]): Promise<void>;
  /** `CLIENT KILL USER aic`: every connection of the service user must reconnect. */
  killServiceConnections(): Promise<number>;
  /** The `user=` field of every client connection but the admin's, by connection id. */
  serviceClients(): Promise<Map<string, { user: string; name: string }>>;
  /** ACL LOG entries by reason (`auth`, `command`, `key`, `channel`). */
  aclLog(): Promise<{ reason: string; username: string; object: string }[]>;
  stop(): Promise<void>;
}

/** Starts the server with `aic` logging in with `password`. */
export async function startAclRedis(password: string): Promise<AclRedis> {
  const server = await startOwnRedis();
  const setup = new Redis(server.url, { lazyConnect: true });
  await setup.connect();
  await setup.call('ACL', 'SETUSER', 'admin', 'on', `>${ADMIN_PASSWORD}`, '~*', '&*', '+@all');
  setup.disconnect();
  const admin = new Redis({
    port: server.port,
    host: '127.0.0.1',
    username: 'admin',
    password: ADMIN_PASSWORD,
    lazyConnect: true,
  });
  await admin.connect();
  const setUser = async (...rules: string[]) => {
    await admin.call('ACL', 'SETUSER', SERVICE_USER, ...rules);
  };
  await setUser('reset', ...REDIS_ACCESS_STRING.split(' '), `>${password}`);
  await admin.call('ACL', 'SETUSER', 'default', 'off');
  await admin.call('ACL', 'LOG', 'RESET');
  return {
    server,
    serviceUrl: `redis://${SERVICE_USER}@127.0.0.1:${server.port}`,
    admin,
    setUser,
    killServiceConnections: async () =>
      Number(await admin.call('CLIENT', 'KILL', 'USER', SERVICE_USER)),
    serviceClients: async () => {
      const list = String(await admin.call('CLIENT', 'LIST'));
      const clients = new Map<string, { user: string; name: string }>();
      for (const line of list.split('\n')) {
        const fields = Object.fromEntries(
          line
            .trim()
            .split(' ')
            .map((pair) => pair.split('=', 2) as [string, string]),
        );
        if (fields.id && fields.user !== 'admin') {
          clients.set(fields.id, { user: fields.user ?? '', name: fields.name ?? '' });
        }
      }
      return clients;
    },
    aclLog: async () => {
      const entries = (await admin.call('ACL', 'LOG', '1000')) as unknown[][];
      return entries.map((entry) => {
        const field = (name: string) => String(entry[entry.indexOf(name) + 1]);
        return { reason: field('reason'), username: field('username'), object: field('object') };
      });
    },
    stop: async () => {
      admin.disconnect();
      await server.stop();
    },
  };
}
