/** The public door of http/: what other folders use. */
export * from "./access_guard.ts";
export * from "./context.ts";
export * from "./front_door.ts";
export * from "./responses.ts";
export * from "./router.ts";
export * from "./routes/ops_routes.ts";
export * from "./serve_routes.ts";
export * from "./server.ts";
