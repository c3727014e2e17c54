import type { RouteId } from '../core/contracts/routes.ts';

/**
 * Examples shown in the OpenAPI document, by route id. Query and path values are given as they
 * travel (strings); test/integration/http/openapi.test.ts checks that every example the document
 * shows passes the route's zod schema.
 */
export interface RouteExamples {
  /** A JSON request body. */
  readonly body?: unknown;
  /** Query parameters (for a raw image body: the fields that travel as query parameters). */
  readonly query?: Readonly<Record<string, string>>;
  readonly path?: Readonly<Record<string, string>>;
  /** A success response body. */
  readonly response?: unknown;
}

const SESSION_ID = '3f2c8a4e-9b1d-4c6e-8f7a-2d5b9e0c1a34';
const ALERT_ID = 'b7e3c1d2-5f4a-4e8b-9c6d-1a2b3c4d5e6f';
const NOW = '2025-06-02T10:15:00.000Z';

const config = {
  enabled: true,
  mode: 'adaptive',
  target_compression_ratio: 0.8,
  max_latency_ms: 20,
  min_quality_score: 0.85,
  allowed_formats: ['jpeg', 'webp'],
  enable_predictive_compression: true,
  enable_perceptual_optimization: true,
  opt_out: false,
};

const network = {
  available_bandwidth_kbps: 1500,
  rtt_ms: 60,
  packet_loss_percent: 1,
  jitter_ms: 8,
  fps: 20,
  connection_type: 'wifi',
};

const alert = {
  alert_id: ALERT_ID,
  type: 'latency_p95_over_budget',
  severity: 'warning',
  message: 'p95 latency 27.4 ms over the last 5 min (412 frames) exceeds the budget of 20 ms',
  observed_value: 27.41,
  threshold: 20,
  created_at: '2025-06-02T10:02:00.000Z',
  resolved_at: NOW,
};

/** The examples of the document. */
export const ROUTE_EXAMPLES: Readonly<Partial<Record<RouteId, RouteExamples>>> = {
  compress: {
    body: {
      session_id: SESSION_ID,
      frame_number: 1,
      frame_type: 'video',
      frame_data: '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U',
      network,
    },
    query: { session_id: SESSION_ID, frame_number: '2', frame_type: 'screen', mode: 'adaptive' },
  },
  putConfig: { body: config, response: { ...config, updated_at: NOW } },
  postConfig: { body: config },
  getConfig: { response: { ...config, updated_at: null } },
  putSessionNetwork: { path: { session_id: SESSION_ID }, body: network },
  getSessionNetwork: { path: { session_id: SESSION_ID } },
  getSession: { path: { session_id: SESSION_ID } },
  listMetrics: { query: { session_id: SESSION_ID, limit: '50' } },
  getPerformanceSummary: {
    query: { hours: '24' },
    response: {
      hours: 24,
      from: '2025-06-01T10:15:00.000Z',
      to: NOW,
      frames: 86_400,
      fallbacks: 432,
      fallback_rate: 0.005,
      dropped: 864,
      dropped_rate: 0.01,
      unchanged: 17_280,
      unchanged_rate: 0.2,
      within_budget_rate: 0.981,
      bytes_in: 7_603_200_000,
      bytes_out: 1_520_640_000,
      bytes_saved: 6_082_560_000,
      avg_compression_ratio: 0.8,
      avg_savings_percent: 80,
      avg_ssim: 0.9412,
      avg_latency_ms: 14.2,
      latency_p50_ms: 12.83,
      latency_p95_ms: 21.49,
    },
  },
  getBandwidthSavings: {
    query: { days: '7', session_id: SESSION_ID },
    response: {
      days: 7,
      from: '2025-05-26T10:15:00.000Z',
      to: NOW,
      session_id: SESSION_ID,
      frames: 604_800,
      bytes_in: 53_222_400_000,
      bytes_out: 10_644_480_000,
      bytes_saved: 42_577_920_000,
      saved_mb: 42_577.92,
      saved_gb: 42.57792,
      avg_savings_percent: 80,
      cost_per_gb_usd: 0.09,
      estimated_cost_saved_usd: 3.832013,
    },
  },
  getQualityDistribution: {
    query: { days: '7' },
    response: {
      days: 7,
      from: '2025-05-26T10:15:00.000Z',
      to: NOW,
      frames: 1000,
      measured_frames: 1000,
      bands: [
        { band: 'excellent', min_ssim: 0.95, frames: 610, percent: 61, avg_ssim: 0.9672 },
        { band: 'good', min_ssim: 0.9, frames: 290, percent: 29, avg_ssim: 0.9268 },
        { band: 'fair', min_ssim: 0.8, frames: 80, percent: 8, avg_ssim: 0.8731 },
        { band: 'poor', min_ssim: null, frames: 20, percent: 2, avg_ssim: 0.7412 },
      ],
    },
  },
  listAlerts: {
    query: { resolved: 'false', severity: 'warning', limit: '20' },
    response: { alerts: [{ ...alert, resolved_at: null }], count: 1 },
  },
  resolveAlert: { path: { alert_id: ALERT_ID }, response: alert },
};
