import { type CfnResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  type HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import {
  HttpJwtAuthorizer,
  HttpLambdaAuthorizer,
  HttpLambdaResponseType,
} from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS } from '../../functions/core/contracts/cors.ts';
import { ORIGIN_VERIFY_HEADER } from '../../functions/core/contracts/origin.ts';
import {
  DEFAULT_ROUTE_FUNCTION,
  type FunctionName,
  type RouteSpec,
} from '../../functions/core/contracts/routes.ts';
import { type EnvironmentConfig, routeThrottles } from '../config/environment-config.ts';
import { logEncryptionKey } from './security/log-encryption-key.ts';
import type { TokenIssuer } from './token-issuer.ts';

const lowerCase = (name: string) => name.toLowerCase();

/**
 * One JSON object per request. No request or response bodies and no tokens: only the caller's
 * `sub`, which the handlers log as well.
 */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    httpMethod: '$context.httpMethod',
    path: '$context.path',
    routeKey: '$context.routeKey',
    protocol: '$context.protocol',
    status: '$context.status',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
    sub: '$context.authorizer.claims.sub',
  }),
);

/** Properties of {@link RouteTableApi}. */
export interface RouteTableApiProps {
  /** The routes to expose, normally `routeList` from functions/core/contracts/routes.ts. */
  readonly routes: readonly RouteSpec[];
  /** The Lambda function behind each {@link FunctionName}. */
  readonly functions: Readonly<Record<FunctionName, IFunction>>;
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** Who signs the tokens the JWT authorizer accepts. */
  readonly tokenIssuer: TokenIssuer;
  /** The Lambda authorizer of the routes without a token: admits only CloudFront's requests. */
  readonly originAuthorizer: IFunction;
}

/**
 * How long API Gateway keeps an origin authorizer answer per header value: CloudFront always sends
 * the same value, so its requests cost one authorizer run per period.
 */
export const ORIGIN_AUTHORIZER_CACHE = Duration.minutes(5);

/**
 * The HTTP API generated from the route table: one route per entry (JWT authorizer exactly on the
 * routes with `auth: true`, the origin authorizer on the others), the `$default` catch-all (origin
 * authorizer too), CORS preflight for the configured origins, stage throttling with the route
 * table's own throttles per route, and JSON access logs.
 */
export class RouteTableApi extends Construct {
  /** The HTTP API. */
  readonly api: HttpApi;
  /** The auto-deployed `$default` stage. */
  readonly stage: HttpStage;
  /** The access log group of the stage. */
  readonly accessLogGroup: LogGroup;
  /** The routes, keyed by API Gateway route key (`GET /health`, `$default`). */
  readonly routes: ReadonlyMap<string, HttpRoute>;

  constructor(scope: Construct, id: string, props: RouteTableApiProps) {
    super(scope, id);
    const { config } = props;
    this.api = new HttpApi(this, 'HttpApi', {
      apiName: `auralink-aic-${config.name}`,
      description: `AuraLink AIC HTTP API (${config.name})`,
      // The stage is created below, with throttling and access logs.
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: [...config.corsAllowedOrigins],
        allowMethods: corsMethods(props.routes),
        allowHeaders: CORS_ALLOWED_HEADERS.map(lowerCase),
        exposeHeaders: CORS_EXPOSED_HEADERS.map(lowerCase),
        // Bearer tokens travel in a header, never in cookies.
        allowCredentials: false,
        maxAge: Duration.hours(1),
      },
    });
    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      logGroupName: `/auralink/aic/${config.name}/api-access`,
      retention: config.logRetentionDays,
      // API Gateway writes through CloudWatch Logs, which encrypts with the key itself.
      encryptionKey: logEncryptionKey(this, config),
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.stage = this.addDefaultStage(config);
    this.routes = this.addRoutes(props);
    this.throttleRoutes(props.routes);
  }

  /**
   * The route table's own throttles, as route settings of the stage (docs/design.md section 6).
   * CloudFormation rejects settings for a route that does not exist yet: the stage waits for them.
   */
  private throttleRoutes(routes: readonly RouteSpec[]): void {
    const stage = this.stage.node.defaultChild as CfnStage;
    // The property is plain JSON to CDK, so it is written in CloudFormation's own casing.
    const settings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> =
      {};
    for (const [key, throttle] of routeThrottles(routes)) {
      const route = this.routes.get(key);
      if (!route) throw new Error(`A throttle for ${key}, which is not a route of the API`);
      settings[key] = {
        ThrottlingRateLimit: throttle.rateLimit,
        ThrottlingBurstLimit: throttle.burstLimit,
      };
      stage.addDependency(route.node.defaultChild as CfnResource);
    }
    stage.routeSettings = settings;
  }

  /** The auto-deployed `$default` stage, throttled, with JSON access logs. */
  private addDefaultStage(config: EnvironmentConfig): HttpStage {
    return this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: config.throttling.rateLimit,
        burstLimit: config.throttling.burstLimit,
      },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: ACCESS_LOG_FORMAT,
      },
    });
  }

  /**
   * One route per entry of the route table, then the `$default` catch-all. Routes that need a
   * token get the JWT authorizer; the others (and `$default`, where a token would turn every 404
   * into a 401) the origin authorizer, so none of them answers a request that bypassed CloudFront.
   */
  private addRoutes(props: RouteTableApiProps): Map<string, HttpRoute> {
    const jwt = new HttpJwtAuthorizer('JwtAuthorizer', props.tokenIssuer.issuer, {
      jwtAudience: [...props.tokenIssuer.audience],
      identitySource: ['$request.header.Authorization'],
    });
    const origin = new HttpLambdaAuthorizer('OriginAuthorizer', props.originAuthorizer, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      // A request without the header is refused by API Gateway itself, without an invocation.
      identitySource: [`$request.header.${ORIGIN_VERIFY_HEADER}`],
      resultsCacheTtl: ORIGIN_AUTHORIZER_CACHE,
    });
    const integrationFor = integrations(props.functions);
    const routes = new Map<string, HttpRoute>();
    const addRoute = (
      id: string,
      routeKey: HttpRouteKey,
      fn: FunctionName,
      authorizer: IHttpRouteAuthorizer,
    ) => {
      if (routes.has(routeKey.key))
        throw new Error(`Duplicate route in the route table: ${routeKey.key}`);
      const scopes = authorizer === jwt ? props.tokenIssuer.scopes : undefined;
      const route = new HttpRoute(this, id, {
        httpApi: this.api,
        routeKey,
        integration: integrationFor(fn),
        authorizer,
        ...(scopes ? { authorizationScopes: [...scopes] } : {}),
      });
      routes.set(routeKey.key, route);
    };
    for (const spec of props.routes) {
      const key = HttpRouteKey.with(spec.path, HttpMethod[spec.method]);
      addRoute(`Route${pascalCase(spec.id)}`, key, spec.function, spec.auth ? jwt : origin);
    }
    addRoute('RouteDefault', HttpRouteKey.DEFAULT, DEFAULT_ROUTE_FUNCTION, origin);
    return routes;
  }
}

/**
 * The integration of each function, created on first use. One integration object per function:
 * CDK then creates a single API Gateway integration for it and one invoke permission per route,
 * scoped to that route's path.
 */
function integrations(
  functions: Readonly<Record<FunctionName, IFunction>>,
): (name: FunctionName) => HttpLambdaIntegration {
  const created = new Map<FunctionName, HttpLambdaIntegration>();
  return (name) => {
    let integration = created.get(name);
    if (!integration) {
      integration = new HttpLambdaIntegration(`${pascalCase(name)}Integration`, functions[name]);
      created.set(name, integration);
    }
    return integration;
  };
}

/** The methods the route table uses, plus OPTIONS for the preflight itself. */
function corsMethods(routes: readonly RouteSpec[]): CorsHttpMethod[] {
  const methods = new Set<CorsHttpMethod>([CorsHttpMethod.OPTIONS]);
  for (const route of routes) methods.add(CorsHttpMethod[route.method]);
  return [...methods];
}

/** `getConfig` -> `GetConfig`, for readable construct ids. */
function pascalCase(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}
