/**
 * V8 flags for the processes that handle pixels: the compress Lambda (through the exec wrapper in
 * the sharp layer, `layers/sharp/aic-node-flags`), the gRPC task (its Dockerfile), `npm start` and
 * the benchmarks that measure them (package.json). A test holds all of them to this list.
 *
 * `--initial-old-space-size=64`: V8 starts with an old generation of a few MB and grows it slowly,
 * so a frame loop that promotes a few hundred KB per frame ran a full mark-compact (3 to 4 ms)
 * every 8 to 10 frames at 640x360, and those collections made up most of the latency tail. Starting
 * at 64 MB, 270 frames ran 6 full collections instead of about 30, the p95 of decode + engine at
 * 640x360 fell from about 21 to about 16 ms, and the peak RSS at 3840x2160 stayed within noise
 * (357 vs 362 MB). The flag is not allowed in NODE_OPTIONS, hence the wrapper and the command lines.
 */
export const NODE_HEAP_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

/** Where the sharp layer puts the exec wrapper that adds {@link NODE_HEAP_FLAGS} (Lambda's /opt). */
export const NODE_FLAGS_WRAPPER = '/opt/aic-node-flags';
