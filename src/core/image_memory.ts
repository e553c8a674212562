import sharp from "sharp";
import { logger } from "./log.ts";

/**
 * libvips keeps a cache of recent operations (up to 50 MB and 100 files by default) and runs one
 * thread per core per image; neither pays off here, where every frame is a new image and many
 * cameras encode at once.
 */
export function limitImageMemory(): void {
  sharp.cache(false);
  sharp.concurrency(1);
  trimNativeHeapPeriodically();
}

const TRIM_EVERY_MS = 30_000;

/**
 * glibc keeps memory freed by libvips, librsvg and the HTTP stack in its heap instead of giving
 * it back (tens of MB with many cameras and clients); `malloc_trim(0)` returns it. Not glibc
 * (musl, macOS) or no FFI permission: nothing to do.
 */
function trimNativeHeapPeriodically(): void {
  if (Deno.build.os !== "linux") return;
  let libc: Deno.DynamicLibrary<{ malloc_trim: { parameters: ["usize"]; result: "i32" } }>;
  try {
    libc = Deno.dlopen("libc.so.6", { malloc_trim: { parameters: ["usize"], result: "i32" } });
  } catch (err) {
    logger("memory").debug("malloc_trim not available", { error: String(err) });
    return;
  }
  const timer = setInterval(() => libc.symbols.malloc_trim(0n), TRIM_EVERY_MS);
  Deno.unrefTimer(timer);
}
