/**
 * V8 flags and environment for the processes that handle pixels: the compress Lambda (the flags
 * through the exec wrapper in the sharp layer, `layers/sharp/aic-node-flags`), the gRPC task (its
 * Dockerfile), `npm start` and the benchmarks that measure them (package.json). A test holds all
 * of them to these lists.
 *
 * `--initial-old-space-size=64`: V8 starts with an old generation of a few MB and grows it slowly,
 * so a frame loop that promotes a few hundred KB per frame runs a full mark-compact every few
 * frames, and those collections make up most of the latency tail. Starting at 64 MB spaces them
 * out; the price is more garbage held at the peak of a large frame (see {@link PIXEL_PROCESS_ENV}).
 * The flag is not allowed in NODE_OPTIONS, hence the wrapper and the command lines.
 */
export const NODE_HEAP_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

/**
 * `MALLOC_MMAP_THRESHOLD_=4194304`: glibc raises its mmap threshold after each large free, so the
 * 25 MB pixel buffers of a 4K frame would soon come from the heap arenas, which keep freed memory
 * and so raise the peak RSS. A fixed 4 MiB threshold maps every buffer of a 4K frame and returns it
 * to the system when freed, while the buffers of frames up to 1280x720 (2.7 MB) stay in the
 * arenas, reused without page faults.
 */
export const PIXEL_PROCESS_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '4194304',
};

/** Where the sharp layer puts the exec wrapper that adds {@link NODE_HEAP_FLAGS} (Lambda's /opt). */
export const NODE_FLAGS_WRAPPER = '/opt/aic-node-flags';
