/** The public door of mpta/: what other folders use. */
export * from "./archive.ts";
export * from "./crc32.ts";
export * from "./inspect.ts";
export * from "./limits.ts";
export * from "./pack.ts";
export * from "./placeholders.ts";
export * from "./types.ts";
