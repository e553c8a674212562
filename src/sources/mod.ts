/** The public door of sources/: what other folders use. */
export * from "./camera_set.ts";
export * from "./crop.ts";
export * from "./ffmpeg_args.ts";
export * from "./ffmpeg_process.ts";
export * from "./ffmpeg_source.ts";
export * from "./ffmpeg_stderr.ts";
export * from "./frame_jpeg.ts";
export * from "./registry.ts";
export * from "./shared_readers.ts";
export * from "./source.ts";
export * from "./stderr_ring.ts";
