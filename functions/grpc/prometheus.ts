/**
 * A minimal Prometheus registry and text exposition (format 0.0.4): counters, gauges and
 * histograms with labels. The task needs a handful of series; a dependency for that would be more
 * code in the image than this file.
 */

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
    'Frames answered over gRPC, by outcome (success, fallback, or the error code).',
  );
  readonly frameSeconds = new Histogram(
    'aic_frame_processing_seconds',
    'Engine time of one frame (latency_ms.total), by compression status.',
    LATENCY_BUCKETS_S,
  );
  readonly bytesIn = new Counter('aic_frame_bytes_in_total', 'Bytes of frames received.');
  readonly bytesOut = new Counter('aic_frame_bytes_out_total', 'Bytes of frames sent back.');
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

  /** Every metric in the text exposition format. */
  expose(): string {
    const all: Metric[] = [
      this.calls,
      this.latency,
      this.frames,
      this.frameSeconds,
      this.bytesIn,
      this.bytesOut,
      this.rateLimited,
      this.inFlight,
      this.serving,
      this.memory,
    ];
    return `${all.map((metric) => metric.expose()).join('\n')}\n`;
  }
}
