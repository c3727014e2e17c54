/** Lambda functions API Gateway runs as authorizers, before the routes' own functions. */
export type AuthorizerFunctionName = 'originAuthorizer';

/** An authorizer function: its entry and what it checks. */
export interface AuthorizerFunction {
  /** Entry point relative to the repository root. */
  readonly entry: string;
  readonly description: string;
}

/** The authorizer functions; the API stack attaches each to the routes it guards. */
export const AUTHORIZER_FUNCTIONS: Readonly<Record<AuthorizerFunctionName, AuthorizerFunction>> = {
  originAuthorizer: {
    entry: 'functions/handlers/origin-authorizer.ts',
    description: 'Admits requests to the routes without a token only when CloudFront sent them',
  },
};
