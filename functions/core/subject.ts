/** Longest `sub` accepted as a user id. */
export const MAX_SUBJECT_LENGTH = 128;

// C0 and C1 control characters: Postgres text cannot hold NUL, and none belongs in an identity.
const CONTROL = /\p{Cc}/u;
// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The tenant a token's claims name: the value of `claim` (`AIC_TENANT_CLAIM`: `sub` for an SDK
 * user, for example, or `client_id` for a media server's app client), when it is usable as an id
 * ({@link isUsableSubject}); undefined otherwise. Quotas, sessions, dashboards and alerts belong to
 * the tenant (docs/design.md section 2.5).
 */
export function tenantFromClaims(
  claims: Readonly<Record<string, unknown>> | undefined,
  claim: string,
): string | undefined {
  const value = claims?.[claim];
  return isUsableSubject(value) ? value : undefined;
}

/**
 * Whether a token's `sub` can be the user id: a non-empty string of at most 128 characters, well
 * formed (a lone surrogate would be stored as U+FFFD, so two subjects could share one user) and free
 * of control characters.
 */
export function isUsableSubject(sub: unknown): sub is string {
  return (
    typeof sub === 'string' &&
    sub.length > 0 &&
    sub.length <= MAX_SUBJECT_LENGTH &&
    !LONE_SURROGATE.test(sub) &&
    !CONTROL.test(sub)
  );
}
