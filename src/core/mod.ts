/** The public door of core/: what other folders use. */
export * from "./backoff.ts";
export * from "./camera_name.ts";
export * from "./frame.ts";
export * from "./frame_cache.ts";
export * from "./jpeg.ts";
export * from "./jpeg_splitter.ts";
export * from "./log.ts";
export * from "./log_throttle.ts";
export * from "./metrics.ts";
export * from "./pixel_rect.ts";
export * from "./redact.ts";
export * from "./secret_refs.ts";
export * from "./source_status.ts";
export { fixMmapThreshold } from "./native_heap.ts";
