/** The public door of replay/: what other folders use. */
export * from "./annotate.ts";
export * from "./frame_line.ts";
export * from "./replay.ts";
