import { addResponseHeaders, type HttpMiddleware, type HttpRequest } from './types.ts';

/** Headers for a JSON API that is never framed, sniffed, cached or referred from. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** Adds {@link SECURITY_HEADERS} to every response, errors included. */
export function securityHeadersMiddleware(): HttpMiddleware {
  const apply = (request: HttpRequest) => {
    if (request.response) addResponseHeaders(request, { ...SECURITY_HEADERS });
  };
  return { name: 'securityHeaders', after: apply, onError: apply };
}
