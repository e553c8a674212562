/**
 * Runtime arguments that bound the memory of the long-running subcommands. They must be given to
 * `deno` itself (V8 sizes its heap before any module runs): `deno task compile` embeds them, the
 * installer's wrapper passes them, and the memory bench measures with them.
 */
export const MEMORY_V8_FLAGS: string[] = [
  // The young generation grows to 3 × 16 MB semi-spaces by default; frames, HTTP chunks and
  // promises of many cameras and clients are short-lived, so 1 MB spaces hold them as well.
  "--max-semi-space-size=1",
  // Collects sooner and keeps fewer pages: frames and HTTP chunks held by dead ArrayBuffers (memory
  // outside the JS heap that V8 only frees when it collects) go back sooner.
  "--optimize-for-size",
];

/** `MEMORY_V8_FLAGS` as `deno run` / `deno compile` arguments. */
export const MEMORY_RUNTIME_ARGS: string[] = MEMORY_V8_FLAGS.length
  ? [`--v8-flags=${MEMORY_V8_FLAGS.join(",")}`]
  : [];
