import middy from '@middy/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DependencyUnavailableError, RateLimitError } from '../../../functions/core/errors.ts';
import { errorHandlerMiddleware } from '../../../functions/http/middlewares/error-handler.ts';
import { requestIdMiddleware } from '../../../functions/http/middlewares/request-id.ts';
import type { HttpEvent, HttpResult } from '../../../functions/http/middlewares/types.ts';
import type { AicContext } from '../../../functions/http/request-context.ts';
import { lambdaContext, toApiGatewayEvent } from '../../../functions/local/api-gateway-event.ts';
import { logger } from '../../../functions/platform/observability.ts';

function invoke(fail: () => never, headers: Record<string, string> = {}) {
  const handler = middy<HttpEvent, HttpResult, Error, AicContext>()
    .use(requestIdMiddleware())
    .use(errorHandlerMiddleware())
    .handler(async () => fail());
  const event = toApiGatewayEvent(
    { method: 'GET', url: '/x', headers, body: Buffer.alloc(0), sourceIp: '127.0.0.1' },
    { routeKey: 'GET /x' },
  );
  return handler(event, lambdaContext('test', 1000) as AicContext) as Promise<HttpResult>;
}

afterEach(() => {
  vi.restoreAllMocks();
  logger.setLogLevel('SILENT');
});

describe('the error handler', () => {
  it('answers an unexpected exception with 500 and no stack or exception text', async () => {
    const result = await invoke(() => {
      throw new Error('password=hunter2 at Object.<anonymous> (/var/task/index.js:1:1)');
    });
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('hunter2');
    expect(result.body).not.toContain('index.js');
    expect(JSON.parse(result.body as string).error).toMatchObject({
      code: 'INTERNAL_ERROR',
      message: 'Internal server error',
    });
  });

  it('maps typed errors to their status and headers', async () => {
    const limited = await invoke(() => {
      throw new RateLimitError(7);
    });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers?.['Retry-After']).toBe('7');
    const down = await invoke(() => {
      throw new DependencyUnavailableError('postgres', {
        cause: new Error('ECONNREFUSED 10.0.0.1'),
      });
    });
    expect(down.statusCode).toBe(503);
    expect(down.body).not.toContain('10.0.0.1');
  });

  it('answers a Postgres connection failure with 503, not 500', async () => {
    const result = await invoke(() => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    });
    expect(result.statusCode).toBe(503);
  });

  it('writes the request ID on every log line of the request', async () => {
    logger.setLogLevel('INFO');
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    vi.spyOn(console, 'info').mockImplementation((line) => lines.push(String(line)));
    vi.spyOn(console, 'error').mockImplementation((line) => lines.push(String(line)));
    await invoke(
      () => {
        throw new Error('boom');
      },
      { 'x-request-id': 'log-me-123' },
    );
    const logged = lines.filter((line) => line.includes('"level"'));
    expect(logged.length).toBeGreaterThan(0);
    for (const line of logged) expect(line).toMatch(/"request_id": ?"log-me-123"/);
  });
});
