import { logger } from "./log.ts";

const TRIM_EVERY_MS = 30_000;
/** mallopt parameter of glibc's malloc.h. */
const M_MMAP_THRESHOLD = -3;
/** Native allocations from this size on get their own mapping, returned to the system on free. */
export const MMAP_THRESHOLD_BYTES = 64 * 1024;

/**
 * Keeps memory freed by native code (libvips, librsvg, ONNX Runtime, the HTTP stack) from staying
 * in the process. glibc raises its mmap threshold each time a large block is freed (up to 32 MB),
 * so decoded images and encode buffers end up in its heaps, where they fragment and are not
 * returned; a fixed threshold keeps them in mappings of their own. What is freed in the heaps
 * anyway goes back with `malloc_trim(0)` every 30 s. Not glibc (musl, macOS), no FFI permission,
 * or the threshold already chosen in the environment (`keepThreshold`): only what applies.
 *
 * The number of glibc arenas cannot be bounded from here (glibc fixes it before the program
 * runs): MALLOC_ARENA_MAX=2 in the environment does that (README "Memory").
 */
export function boundNativeHeap(opts: { keepThreshold?: boolean } = {}): void {
  if (Deno.build.os !== "linux") return;
  let libc: Deno.DynamicLibrary<{
    malloc_trim: { parameters: ["usize"]; result: "i32" };
    mallopt: { parameters: ["i32", "i32"]; result: "i32" };
  }>;
  try {
    libc = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
      mallopt: { parameters: ["i32", "i32"], result: "i32" },
    });
  } catch (err) {
    logger("memory").debug("glibc malloc tuning not available", { error: String(err) });
    return;
  }
  if (!opts.keepThreshold) {
    libc.symbols.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
  }
  const timer = setInterval(() => libc.symbols.malloc_trim(0n), TRIM_EVERY_MS);
  Deno.unrefTimer(timer);
}
