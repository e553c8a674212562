import sharp from "sharp";

/**
 * libvips keeps a cache of recent operations (up to 50 MB and 100 files by default) and runs one
 * thread per core per image; neither pays off here, where every frame is a new image and many
 * cameras encode at once.
 */
export function limitImageMemory(): void {
  sharp.cache(false);
  sharp.concurrency(1);
}
