/**
 * The API's front door (docs/design.md section 6): CloudFront adds this header, with a secret value
 * only it and the API's origin authorizer know, to every request it forwards to API Gateway. The
 * routes without a token admit a request only with it, so they cannot be called around CloudFront
 * and its web ACL.
 */
export const ORIGIN_VERIFY_HEADER = 'x-aic-origin-verify';
