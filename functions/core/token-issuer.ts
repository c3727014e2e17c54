/**
 * Where an OpenID issuer (Cognito, Auth0, Okta, Entra ID, Keycloak) publishes its signing keys: the
 * JWKS that both the gRPC task and the HTTP API's authorizer verify tokens against.
 */
export function issuerJwksUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`;
}
