import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import {
  DEFAULT_ROUTE_FUNCTION,
  DEFAULT_ROUTE_KEY,
  type FunctionName,
  routeKey,
} from '../core/contracts/routes.ts';
import { type AicError, PayloadTooLargeError, toAicError } from '../core/errors.ts';
import { resolveRequestId } from '../core/request-id.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../grpc/metrics-server.ts';
import { errorResult } from '../http/error-response.ts';
import { SECURITY_HEADERS } from '../http/middlewares/security-headers.ts';
import { createRouteMatcher } from '../http/route-matcher.ts';
import { bearerToken, type JwtSettings, verifyToken } from '../platform/jwt.ts';
import { lambdaContext, toApiGatewayEvent } from './api-gateway-event.ts';

/** A Lambda handler as the local runtime calls it. */
export type LambdaHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** Options of {@link startLocalServer}. */
export interface LocalServerOptions {
  port: number;
  host?: string;
  handlers: Readonly<Record<FunctionName, LambdaHandler>>;
  jwt: JwtSettings;
  /** API Gateway's own cap on a request (and Lambda's 6 MB event cap): larger bodies get 413. */
  maxRequestBytes?: number;
  /** Lambda timeout per invocation. */
  timeoutMs?: number;
  /** Called for a failure outside the handlers (a bug in the runtime itself). */
  onError?: (error: unknown) => void;
  /**
   * Prometheus text served at `GET /metrics` (the in-process gRPC server's registry). Local only:
   * API Gateway has no such route; on AWS the gRPC task serves it on METRICS_PORT.
   */
  prometheus?: () => Promise<string>;
}

/** A running local API. */
export interface LocalServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const DEFAULT_MAX_REQUEST_BYTES = 6 * 1024 * 1024;

type RouteMatcher = ReturnType<typeof createRouteMatcher>;

/** The payload 2.0 event API Gateway would build for `request`, and the route it selected. */
function eventFor(request: IncomingMessage, body: Buffer, match: RouteMatcher) {
  const method = (request.method ?? 'GET').toUpperCase();
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const found = match(method, path);
  const route = found.kind === 'route' ? found.route : undefined;
  const event = toApiGatewayEvent(
    {
      method,
      url: request.url ?? '/',
      headers: request.headers,
      body,
      sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
    },
    found.kind === 'route'
      ? { routeKey: routeKey(found.route), pathParameters: found.pathParameters }
      : { routeKey: DEFAULT_ROUTE_KEY },
  );
  return { event, route };
}

/** Like API Gateway's JWT authorizer: only a verified token's claims reach the handler. */
async function authorize(event: APIGatewayProxyEventV2, jwt: JwtSettings): Promise<void> {
  const claims = await verifyToken(bearerToken(event.headers.authorization), jwt).catch(
    () => undefined,
  );
  // None means 401 from the handler's auth middleware, as on AWS.
  if (claims) Object.assign(event.requestContext, { authorizer: { jwt: { claims, scopes: [] } } });
}

/** The error envelope for a request that never reached a handler (too large, unreadable). */
function failedRequestResult(request: IncomingMessage, error: unknown) {
  const aicError: AicError = toAicError(error);
  const requestId = resolveRequestId(headerValue(request.headers['x-request-id']));
  const result = errorResult(aicError, requestId);
  result.headers = { ...result.headers, ...SECURITY_HEADERS, 'X-Request-ID': requestId };
  if (aicError instanceof PayloadTooLargeError) result.headers.Connection = 'close';
  return { result, status: aicError.httpStatus };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Serves the route table over plain HTTP the way API Gateway would: it selects the route, checks the
 * bearer token like the JWT authorizer, builds a payload 2.0 event and invokes the same Lambda
 * handler the function runs on AWS. Invocations run concurrently, each in its own invoke store (the
 * Lambda runtime's multi-concurrency mode), so Powertools keeps per-request log keys apart.
 */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '64';
  const store = await InvokeStore.getInstanceAsync(true);
  const match = createRouteMatcher();
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const host = options.host ?? '127.0.0.1';

  const invoke = async (request: IncomingMessage, body: Buffer) => {
    const { event, route } = eventFor(request, body, match);
    if (route?.auth) await authorize(event, options.jwt);
    const name = route?.function ?? DEFAULT_ROUTE_FUNCTION;
    const context = lambdaContext(`aic-${name}`, timeoutMs);
    return store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId }, () =>
      options.handlers[name](event, context),
    );
  };

  const server = createServer((request, response) => {
    if (options.prometheus && isMetricsScrape(request)) {
      servePrometheus(response, options.prometheus(), options.onError);
      return;
    }
    readBody(request, maxRequestBytes)
      .then((body) => invoke(request, body))
      .then((result) => send(response, result))
      .catch((error: unknown) => {
        const { result, status } = failedRequestResult(request, error);
        if (status >= 500) options.onError?.(error);
        send(response, result);
      });
  });
  server.requestTimeout = timeoutMs + 5_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  await listen(server, options.port, host);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** `GET /metrics`, which no route of the API uses. */
function isMetricsScrape(request: IncomingMessage): boolean {
  return (
    request.method === 'GET' &&
    new URL(request.url ?? '/', 'http://localhost').pathname === '/metrics'
  );
}

/** Answers a scrape with `text` in the exposition format (500 when it cannot be produced). */
function servePrometheus(
  response: ServerResponse,
  text: Promise<string>,
  onError?: (error: unknown) => void,
): void {
  text.then(
    (body) => {
      response.writeHead(200, {
        'Content-Type': PROMETHEUS_CONTENT_TYPE,
        'Content-Length': Buffer.byteLength(body),
      });
      response.end(body);
    },
    (error: unknown) => {
      onError?.(error);
      response.writeHead(500).end();
    },
  );
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Reads the whole body, refusing (without buffering the rest) one that exceeds `limit`. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) {
    request.resume();
    return Promise.reject(new PayloadTooLargeError(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        reject(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  if (response.headersSent) return;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  if (result.cookies?.length) headers['Set-Cookie'] = result.cookies;
  const body = result.body === undefined ? '' : result.body;
  const bytes = result.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  headers['Content-Length'] = String(bytes.length);
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(bytes);
}
