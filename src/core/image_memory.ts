import sharp from "sharp";

/**
 * libvips keeps a cache of recent operations (up to 50 MB and 100 files by default) and runs one
 * thread per core per image; neither pays off here, where every frame is a new image and many
 * cameras encode at once. Without the cache and with two threads per image, `serve` with 50
 * cameras stays well under its memory target.
 */
export function limitImageMemory(): void {
  sharp.cache(false);
  sharp.concurrency(Math.min(2, navigator.hardwareConcurrency || 1));
}
