/** The public door of push/: what other folders use. */
export * from "./body_budget.ts";
export * from "./ingest_setup.ts";
export * from "./push_routes.ts";
export * from "./push_sink.ts";
export * from "./push_socket.ts";
export * from "./push_token.ts";
export * from "./upload_routes.ts";
