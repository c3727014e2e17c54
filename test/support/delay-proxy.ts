import { connect, createServer, type Socket } from 'node:net';
import { freePort } from '../../functions/local/embedded-services.ts';

/**
 * A TCP proxy that delays every chunk from the upstream server by `delayMs` (changeable while it
 * runs), keeping the order of bytes: a slow Redis without touching the real one.
 */
export interface DelayProxy {
  /** `redis://127.0.0.1:<port>` (the scheme only matters to Redis clients). */
  readonly url: string;
  readonly port: number;
  /** Delay added to each reply chunk, in milliseconds; 0 forwards at once. */
  delayMs: number;
  close(): Promise<void>;
}

/** Starts a proxy to `127.0.0.1:upstreamPort`; call `close()` in `afterAll`. */
export async function startDelayProxy(upstreamPort: number, delayMs = 0): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const port = await freePort();
  const proxy: DelayProxy = {
    url: `redis://127.0.0.1:${port}`,
    port,
    delayMs,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk) => upstream.write(chunk));
    // Each chunk waits its delay after the previous one, so replies stay in order.
    let previous = Promise.resolve();
    upstream.on('data', (chunk) => {
      const wait = proxy.delayMs;
      previous = previous.then(
        () =>
          new Promise<void>((resolve) => {
            setTimeout(() => {
              if (!client.destroyed) client.write(chunk);
              resolve();
            }, wait);
          }),
      );
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return proxy;
}
