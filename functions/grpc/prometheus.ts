/**
 * A minimal Prometheus registry and text exposition (format 0.0.4): counters, gauges, state sets
 * and histograms with labels. The task needs a handful of series; a dependency for that would be
 * more code in the image than this file.
 */
import { totalmem } from 'node:os';

type Labels = Record<string, string>;

const escapeLabel = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

const keyOf = (labels: Labels) => JSON.stringify(Object.entries(labels).sort());

const formatNumber = (value: number) =>
  Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';

interface Metric {
  expose(): string;
}

/** A monotonically increasing count per label set. */
export class Counter implements Metric {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** Adds `by` (default 1) to the series of `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    const key = keyOf(labels);
    const entry = this.#values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.#values.set(key, entry);
  }

  /** Current value of the series of `labels` (0 when never incremented). */
  get(labels: Labels = {}): number {
    return this.#values.get(keyOf(labels))?.value ?? 0;
  }

  expose(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.#values.values()) {
      lines.push(`${this.name}${labelText(labels)} ${formatNumber(value)}`);
    }
    return lines.join('\n');
  }
}

/** A value that goes up and down, or is read when scraped. */
export class Gauge implements Metric {
  #value = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly collect?: () => number,
  ) {}

  set(value: number): void {
    this.#value = value;
  }

  inc(by = 1): void {
    this.#value += by;
  }

  dec(by = 1): void {
    this.#value -= by;
  }

  get(): number {
    return this.collect ? this.collect() : this.#value;
  }

  expose(): string {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} gauge`,
      `${this.name} ${formatNumber(this.get())}`,
    ].join('\n');
  }
}

/**
 * The state of something, per label set, as one series per possible state: 1 for the current
 * state, 0 for the others, so that a query selects `{state="open"} == 1` and a state that never
 * occurred still has a series. No series until a state is set.
 */
export class StateGauge<S extends string> implements Metric {
  readonly #current = new Map<string, { labels: Labels; state: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    /** The label that carries the state. */
    readonly label: string,
    readonly states: readonly S[],
  ) {}

  /** Sets the state of the series of `labels`. */
  set(state: S, labels: Labels = {}): void {
    this.#current.set(keyOf(labels), { labels, state });
  }

  /** Drops the series of `labels`: what they describe is gone. */
  clear(labels: Labels = {}): void {
    this.#current.delete(keyOf(labels));
  }

  /** The current state of `labels`, if any. */
  get(labels: Labels = {}): S | undefined {
    return this.#current.get(keyOf(labels))?.state;
  }

  expose(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const { labels, state } of this.#current.values()) {
      for (const each of this.states) {
        const text = labelText({ ...labels, [this.label]: each });
        lines.push(`${this.name}${text} ${each === state ? 1 : 0}`);
      }
    }
    return lines.join('\n');
  }
}

/** Observations in cumulative buckets, with their sum and count, per label set. */
export class Histogram implements Metric {
  readonly #series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = keyOf(labels);
    let series = this.#series.get(key);
    if (!series) {
      series = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    this.buckets.forEach((bound, i) => {
      if (value <= bound && series) series.counts[i] = (series.counts[i] ?? 0) + 1;
    });
    series.sum += value;
    series.count += 1;
  }

  expose(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, counts, sum, count } of this.#series.values()) {
      this.buckets.forEach((bound, i) => {
        const text = labelText({ ...labels, le: formatNumber(bound) });
        lines.push(`${this.name}_bucket${text} ${counts[i] ?? 0}`);
      });
      lines.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${formatNumber(sum)}`);
      lines.push(`${this.name}_count${labelText(labels)} ${count}`);
    }
    return lines.join('\n');
  }
}

/** Latency buckets in seconds, from 1 ms to 10 s. */
export const LATENCY_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/**
 * SSIM buckets: fine where frames are (0.9 and up), with the bounds of the quality bands of
 * `GET /stats/quality-distribution` (0.8 fair, 0.9 good, 0.95 excellent).
 */
export const SSIM_BUCKETS = [
  0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.925, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 1,
] as const;

/** Readiness of the task, as `GET /readiness` answers it. */
const READINESS_STATES = ['ready', 'degraded', 'not_ready'] as const;
/** Outcome of one readiness check. */
const CHECK_STATES = ['pass', 'degraded', 'fail'] as const;
/** States of the Redis circuit breaker, lower case. */
const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;

/** The memory the process may use: its cgroup's limit when it has one, else the host's memory. */
export function memoryLimitBytes(): number {
  const host = totalmem();
  // Node reports an unlimited cgroup as a huge number (2^64), and none as 0.
  const constrained = process.constrainedMemory();
  return constrained > 0 && constrained < host ? constrained : host;
}

/** The metrics of the gRPC task, exposed on `/metrics`. */
export class GrpcMetrics {
  readonly calls = new Counter(
    'aic_grpc_server_handled_total',
    'RPCs completed, by method and gRPC status code name.',
  );
  readonly latency = new Histogram(
    'aic_grpc_server_handling_seconds',
    'Time from the start of an RPC to its status, by method.',
    LATENCY_BUCKETS_S,
  );
  readonly frames = new Counter(
    'aic_frames_total',
    'Frames answered over gRPC, by outcome (success, fallback, dropped, unchanged, or the error code).',
  );
  readonly frameSeconds = new Histogram(
    'aic_frame_processing_seconds',
    'Engine time of one frame (latency_ms.total), by compression status.',
    LATENCY_BUCKETS_S,
  );
  readonly bytesIn = new Counter('aic_frame_bytes_in_total', 'Bytes of frames received.');
  readonly bytesOut = new Counter('aic_frame_bytes_out_total', 'Bytes of frames sent back.');
  readonly bytesSaved = new Counter(
    'aic_frame_bytes_saved_total',
    'Bytes by which answered frames went back smaller than they came.',
  );
  readonly ssim = new Histogram(
    'aic_frame_ssim',
    'SSIM of each answered frame against its input (frames with a measurement).',
    SSIM_BUCKETS,
  );
  readonly withinBudget = new Counter(
    'aic_frames_within_budget_total',
    "Answered frames that fit their session's byte budget.",
  );
  readonly fallbacks = new Counter(
    'aic_frame_fallbacks_total',
    'Frames answered with their original, by fallback reason.',
  );
  readonly drops = new Counter(
    'aic_frame_drops_total',
    'Frames answered with nothing to send (status dropped), by drop reason.',
  );
  readonly rateLimited = new Counter(
    'aic_rate_limit_rejections_total',
    'Calls or frames rejected by the rate limiter.',
  );
  readonly inFlight = new Gauge('aic_grpc_in_flight_calls', 'RPCs being served now.');
  readonly serving = new Gauge('aic_grpc_serving', '1 when the health status is SERVING, else 0.');
  readonly memory = new Gauge(
    'process_resident_memory_bytes',
    'Resident memory of the process.',
    () => process.memoryUsage.rss(),
  );
  readonly memoryLimit = new Gauge(
    'aic_memory_limit_bytes',
    "Memory the process may use: its cgroup's limit, else the host's memory.",
    memoryLimitBytes,
  );
  readonly readiness = new StateGauge(
    'aic_readiness_status',
    'Readiness of the task (GET /readiness), read when scraped.',
    'status',
    READINESS_STATES,
  );
  readonly readinessChecks = new StateGauge(
    'aic_readiness_check_status',
    'Outcome of each readiness check (initialisation, postgres, redis), read when scraped.',
    'status',
    CHECK_STATES,
  );
  readonly redisBreaker = new StateGauge(
    'aic_redis_circuit_breaker_state',
    "State of the request path's Redis circuit breaker; no series without Redis.",
    'state',
    BREAKER_STATES,
  );

  constructor() {
    // Series a ratio or an absence alert divides by or compares with exist from the start, at 0,
    // so that "none yet" reads as 0 rather than as no data.
    for (const outcome of ['success', 'fallback', 'dropped', 'unchanged']) {
      this.frames.inc({ outcome }, 0);
    }
    for (const counter of [
      this.bytesIn,
      this.bytesOut,
      this.bytesSaved,
      this.withinBudget,
      this.rateLimited,
    ]) {
      counter.inc({}, 0);
    }
  }

  /** Every metric in the text exposition format. */
  expose(): string {
    const all: Metric[] = [
      this.calls,
      this.latency,
      this.frames,
      this.frameSeconds,
      this.bytesIn,
      this.bytesOut,
      this.bytesSaved,
      this.ssim,
      this.withinBudget,
      this.fallbacks,
      this.drops,
      this.rateLimited,
      this.inFlight,
      this.serving,
      this.memory,
      this.memoryLimit,
      this.readiness,
      this.readinessChecks,
      this.redisBreaker,
    ];
    return `${all.map((metric) => metric.expose()).join('\n')}\n`;
  }
}
