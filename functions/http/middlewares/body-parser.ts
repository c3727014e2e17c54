import {
  MalformedJsonError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../core/errors.ts';
import { type HttpMiddleware, header } from './types.ts';

/** Media type without parameters, lower-cased: `application/json; charset=utf-8` -> `application/json`. */
export function mediaType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type === '' ? undefined : type;
}

/** Decoded size of a body, computed without decoding it. */
export function decodedLength(body: string, isBase64: boolean): number {
  if (!isBase64) return Buffer.byteLength(body, 'utf8');
  const padding = body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0;
  return Math.floor((body.length * 3) / 4) - padding;
}

/**
 * Reads the body of routes that take one: the media type must be one the route accepts (415), the
 * decoded size is checked against the route's cap before anything is decoded or parsed (413), and
 * JSON must parse (400). JSON goes to `input.body` for validation; other types keep the raw bytes.
 */
export function bodyParserMiddleware(): HttpMiddleware {
  return {
    name: 'bodyParser',
    before: (request) => {
      const { aic } = request.context;
      const spec = aic.route?.request?.body;
      if (!spec) return;
      const { body, isBase64Encoded } = request.event;
      if (body === undefined || body === null || body.length === 0) {
        throw new ValidationError('A request body is required', [
          { field: 'body', message: 'Required', code: 'required' },
        ]);
      }
      const type = mediaType(header(request.event, 'content-type'));
      if (type === undefined || !spec.contentTypes.includes(type)) {
        throw new UnsupportedMediaTypeError(spec.contentTypes);
      }
      if (decodedLength(body, isBase64Encoded) > spec.maxBytes)
        throw new PayloadTooLargeError(spec.maxBytes);
      const bytes = isBase64Encoded ? Buffer.from(body, 'base64') : undefined;
      if (type !== 'application/json') {
        aic.rawBody = bytes ?? Buffer.from(body, 'utf8');
        return;
      }
      try {
        aic.input.body = JSON.parse(bytes ? bytes.toString('utf8') : body);
      } catch (error) {
        throw new MalformedJsonError({ cause: error });
      }
    },
  };
}
