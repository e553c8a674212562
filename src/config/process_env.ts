/** The process environment as the resolver reads it: the only place outside `src/cli/` that does. */
import type { EnvReader } from "./resolve.ts";

export const processEnv: EnvReader = (name) => Deno.env.get(name);
