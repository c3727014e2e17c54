import type { z } from 'zod';
import { type ErrorDetail, issuesToDetails, ValidationError } from '../../core/errors.ts';
import type { HttpMiddleware } from './types.ts';

/**
 * Validates path parameters, query string and JSON body against the route's zod schemas and
 * replaces them with the parsed values; all failing fields are reported together (400).
 */
export function validatorMiddleware(): HttpMiddleware {
  return {
    name: 'validator',
    before: (request) => {
      const { aic } = request.context;
      const spec = aic.route?.request;
      if (!spec) return;
      const details: ErrorDetail[] = [];
      const check = (
        source: 'path' | 'query' | 'body',
        schema: z.ZodType | undefined,
        value: unknown,
      ) => {
        if (!schema) return;
        const result = schema.safeParse(value);
        if (result.success) aic.input[source] = result.data;
        else details.push(...issuesToDetails(source, result.error.issues));
      };
      check('path', spec.path, request.event.pathParameters ?? {});
      const raw = aic.rawBody !== undefined;
      check(
        'query',
        raw ? spec.body?.rawQuery : spec.query,
        request.event.queryStringParameters ?? {},
      );
      if (aic.rawBody === undefined) check('body', spec.body?.schema, aic.input.body);
      if (details.length > 0) throw new ValidationError('The request is invalid', details);
    },
  };
}
