/** Lambda functions an event source mapping invokes with batches of stream records. */
export type StreamFunctionName = 'metricsConsumer';

/** A stream-invoked function: its entry and what it does with a batch. */
export interface StreamFunction {
  /** Entry point relative to the repository root. */
  readonly entry: string;
  readonly description: string;
}

/** The stream-invoked functions; the metrics stack maps each to its stream. */
export const STREAM_FUNCTIONS: Readonly<Record<StreamFunctionName, StreamFunction>> = {
  metricsConsumer: {
    entry: 'functions/handlers/metrics-consumer.ts',
    description:
      'Adds batches of frame events from the metrics stream to the totals, rollups and frames',
  },
};
