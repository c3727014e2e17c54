import { AicError, DependencyUnavailableError } from '../core/errors.ts';

// postgres.js connection failures (its own codes and Node's socket errors).
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

// SQLSTATEs that mean "the server cannot serve you now", not "your query is wrong": connection
// exceptions (class 08), shutdown or startup in progress, too many connections, a statement cut
// off by statement_timeout (57014, docs/design.md section 5), and a deadlock or serialization
// failure that outlived the repositories' retries.
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-4]|57014|53300|40P01|40001)$/;

/**
 * Maps an error from a dependency client to {@link DependencyUnavailableError} when it means the
 * dependency is down (so callers get 503, not 500); anything else is returned unchanged.
 */
export function classifyDependencyError(error: unknown): unknown {
  if (error instanceof AicError || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return error;
  if (CONNECTION_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code)) {
    return new DependencyUnavailableError('postgres', { cause: error });
  }
  return error;
}
