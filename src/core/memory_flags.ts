/**
 * Runtime arguments that bound the memory of the long-running subcommands. They must be given to
 * `deno` itself (V8 sizes its heap before any module runs): `deno task compile` embeds them, the
 * installer's wrapper passes them, and the memory bench measures with them.
 */
export const MEMORY_V8_FLAGS: string[] = [
  // The young generation grows to 3 × 16 MB semi-spaces by default; frames, HTTP chunks and
  // promises of many cameras and clients are short-lived, so 1 MB spaces hold them as well.
  "--max-semi-space-size=1",
];

/** `MEMORY_V8_FLAGS` as `deno run` / `deno compile` arguments. */
export const MEMORY_RUNTIME_ARGS: string[] = MEMORY_V8_FLAGS.length
  ? [`--v8-flags=${MEMORY_V8_FLAGS.join(",")}`]
  : [];
