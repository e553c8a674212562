/** The public door of actions/: what other folders use. */
export * from "./action_plan.ts";
export * from "./sinks.ts";
export * from "./spool.ts";
export * from "./template.ts";
export * from "./values.ts";
export * from "./write_op.ts";
