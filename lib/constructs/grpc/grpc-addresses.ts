/** Port of the gRPC service in the container (functions/platform/settings.ts GRPC_PORT). */
export const GRPC_PORT = 50051;

/** Port of /metrics, /health and /readiness in the container (METRICS_PORT). */
export const METRICS_PORT = 9464;

/** Port of the TLS listener when the environment has a certificate. */
export const TLS_LISTENER_PORT = 443;

/** Cloud Map name of the service: tasks resolve as `grpc.<namespace>` A records. */
export const SERVICE_DISCOVERY_NAME = 'grpc';

/** The private DNS namespace of an environment, where Prometheus discovers the tasks. */
export function serviceDiscoveryNamespace(environment: string): string {
  return `auralink-aic-${environment}.internal`;
}

/**
 * The port clients connect to: {@link TLS_LISTENER_PORT} when the environment has a certificate,
 * else {@link GRPC_PORT} in plain TCP.
 */
export function listenerPort(certificateArn: string | undefined): number {
  return certificateArn ? TLS_LISTENER_PORT : GRPC_PORT;
}
