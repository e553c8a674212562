/** The public door of worker/: what other folders use. */
export * from "./host_allow_list.ts";
export * from "./model_store.ts";
export * from "./pipeline_pool.ts";
export * from "./worker_daemon.ts";
