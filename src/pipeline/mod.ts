/** The public door of pipeline/: what other folders use. */
export * from "./frame_runner.ts";
export * from "./models.ts";
export * from "./runner.ts";
export * from "./sessions.ts";
export * from "./types.ts";
