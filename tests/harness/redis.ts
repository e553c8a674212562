/**
 * A real redis-server for tests: a free loopback port, no persistence (`--save "" --appendonly
 * no`), its own temp dir. `stop()` and `start()` again on the same port simulate an outage.
 */
import { createClient } from "redis";
import { freePort, waitForPort } from "./ports.ts";
import { type Child, spawnChild } from "./process.ts";

export interface RedisServer {
  port: number;
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A connected node-redis client (closed by `close`). */
  client(): Promise<ReturnType<typeof createClient>>;
  close(): Promise<void>;
}

export async function startRedis(
  opts: { password?: string; args?: string[] } = {},
): Promise<RedisServer> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "redis_test_" });
  let child: Child | null = null;
  const clients: ReturnType<typeof createClient>[] = [];
  const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : "";
  const server: RedisServer = {
    port,
    url: `redis://${auth}127.0.0.1:${port}/0`,
    async start() {
      if (child) return;
      const args = [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
        "--daemonize",
        "no",
      ];
      if (opts.password) args.push("--requirepass", opts.password);
      args.push(...opts.args ?? []);
      child = spawnChild("redis-server", args);
      try {
        await waitForPort(port, 10_000);
      } catch (err) {
        const out = child.output();
        await child.stop();
        child = null;
        throw new Error(`redis-server did not start: ${err}\n${out}`);
      }
    },
    async stop() {
      if (!child) return;
      const c = child;
      child = null;
      await c.stop(3000);
    },
    async client() {
      const c = createClient({ url: server.url });
      c.on("error", () => {});
      await c.connect();
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) {
        try {
          c.destroy();
        } catch { /* closed */ }
      }
      await server.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  await server.start();
  return server;
}
