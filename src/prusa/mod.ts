/** The public door of prusa/: what other folders use. */
export * from "./connect_client.ts";
export * from "./connect_settings.ts";
export * from "./exit_codes.ts";
export * from "./fingerprint.ts";
export * from "./frame_source.ts";
export * from "./serve_consumer.ts";
export * from "./uploader.ts";
