/**
 * A raw HTTP client for fuzzing: sends the path, headers and body exactly as generated (no URL
 * normalisation, no header rewriting beyond what Node refuses to send), with a per-request timeout
 * so a hang fails the property instead of the whole suite.
 */
import { Agent, request as httpRequest } from 'node:http';

/** One generated request. */
export interface FuzzRequest {
  method: string;
  /** Path and query string as they go on the request line. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** What came back. */
export interface FuzzResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A request that gets no complete answer within this time counts as a hang. */
export const REQUEST_TIMEOUT_MS = 15_000;

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

/** Sends `fuzz` to the server at `baseUrl`; rejects on a hang or a broken connection. */
export function send(baseUrl: string, fuzz: FuzzRequest): Promise<FuzzResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: fuzz.method,
        path: fuzz.path,
        headers: {
          ...fuzz.headers,
          ...(fuzz.body ? { 'content-length': String(fuzz.body.length) } : {}),
        },
        agent,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', (error) =>
      reject(new Error(`${fuzz.method} ${fuzz.path.slice(0, 200)}: ${error.message}`)),
    );
    request.end(fuzz.body);
  });
}

/** Closes the client's idle keep-alive sockets. */
export function closeClient(): void {
  agent.destroy();
}
