import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { ErrorEnvelope } from '../core/contracts/errors.ts';
import type { AicError } from '../core/errors.ts';

/** The JSON envelope of docs/design.md section 2 for an error. Exposes only the client-safe message. */
export function errorEnvelope(error: AicError, requestId: string): ErrorEnvelope {
  return {
    error: {
      code: error.code,
      message: error.message,
      request_id: requestId,
      ...(error.details && error.details.length > 0 ? { details: error.details } : {}),
    },
  };
}

/** An API Gateway v2 result carrying the envelope, its status and the error's own headers. */
export function errorResult(error: AicError, requestId: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: error.httpStatus,
    headers: { 'Content-Type': 'application/json', ...error.headers },
    body: JSON.stringify(errorEnvelope(error, requestId)),
  };
}
