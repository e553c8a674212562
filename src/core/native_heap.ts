import { logger } from "./log.ts";

const TRIM_EVERY_MS = 30_000;
/** mallopt parameter of glibc's malloc.h. */
const M_MMAP_THRESHOLD = -3;
/** Native allocations from this size on get their own mapping, returned to the system on free. */
export const MMAP_THRESHOLD_BYTES = 64 * 1024;

type Libc = Deno.DynamicLibrary<{
  malloc_trim: { parameters: ["usize"]; result: "i32" };
  mallopt: { parameters: ["i32", "i32"]; result: "i32" };
}>;

let libc: Libc | null | undefined;

function glibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (Deno.build.os !== "linux") return libc;
  try {
    libc = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
      mallopt: { parameters: ["i32", "i32"], result: "i32" },
    });
  } catch (err) {
    logger("memory").debug("glibc malloc tuning not available", { error: String(err) });
  }
  return libc;
}

/**
 * Hands memory freed by native code (libvips, librsvg, ONNX Runtime, the HTTP stack) back to the
 * system with `malloc_trim(0)` every 30 s. Not glibc (musl, macOS) or no FFI permission: nothing.
 *
 * The number of glibc arenas cannot be bounded from here (glibc fixes it before the program
 * runs): MALLOC_ARENA_MAX=2 in the environment does that (README "Memory").
 */
export function trimNativeHeap(): void {
  const c = glibc();
  if (!c) return;
  const timer = setInterval(() => c.symbols.malloc_trim(0n), TRIM_EVERY_MS);
  Deno.unrefTimer(timer);
}

/**
 * Fixes glibc's mmap threshold at 64 KB. glibc raises it each time a large block is freed (up to
 * 32 MB), so decoded images and encode buffers of `serve` end up in its heaps, where they fragment
 * and are not returned; a fixed threshold keeps them in mappings of their own. Not for processes
 * that allocate megabytes per frame (`run`'s raw frames): there every frame would pay for a fresh
 * mapping and its page faults.
 */
export function fixMmapThreshold(): void {
  glibc()?.symbols.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
}
