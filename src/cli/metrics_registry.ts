import { Metrics } from "../core/mod.ts";

/**
 * The registry of the subcommand this process runs, created here and nowhere else: each
 * subcommand passes it down in the option objects of the parts that count, and `/metrics` shows it.
 */
export const metrics = new Metrics();
