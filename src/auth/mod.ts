/** The public door of auth/: what other folders use. */
export * from "./credentials.ts";
export * from "./failure_limiter.ts";
export * from "./secret_compare.ts";
export * from "./bearer.ts";
