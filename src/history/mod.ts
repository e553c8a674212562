/** The public door of history/: what other folders use. */
export * from "./history_routes.ts";
export * from "./history_store.ts";
