/** A child process started by a test, with its output kept for assertions and failure messages. */
export interface Child {
  proc: Deno.ChildProcess;
  pid: number;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first output line matching the pattern. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit status. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
  status: Promise<Deno.CommandStatus>;
}

export function spawnChild(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; stdin?: "piped" | "null" } = {},
): Child {
  const proc = new Deno.Command(cmd, {
    args,
    env: opts.env,
    cwd: opts.cwd,
    stdin: opts.stdin ?? "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const watchers = new Set<() => void>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      if (text.length > 2_000_000) text = text.slice(-1_000_000);
      for (const w of watchers) w();
    }
  };
  const pumps = Promise.all([pump(proc.stdout), pump(proc.stderr)]);
  let exited = false;
  const status = proc.status.then(async (s) => {
    await pumps;
    exited = true;
    for (const w of watchers) w();
    return s;
  });
  return {
    proc,
    pid: proc.pid,
    output: () => text,
    status,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = text.match(pattern);
          if (m) {
            done();
            resolve(m);
          } else if (exited) {
            done();
            reject(new Error(`${cmd} exited before printing ${pattern}; output:\n${text}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timeout waiting for ${pattern} from ${cmd}; output:\n${text}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
    async stop(graceMs = 5000) {
      if (!exited) {
        try {
          proc.kill("SIGTERM");
        } catch { /* already gone */ }
        const timer = setTimeout(() => {
          try {
            proc.kill("SIGKILL");
          } catch { /* already gone */ }
        }, graceMs);
        const s = await status;
        clearTimeout(timer);
        return s;
      }
      return await status;
    },
  };
}

/** Resolves when `fn` returns a truthy value; polls every `everyMs`. */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}
