import { freePort, waitForPort } from "./ports.ts";
import { type Child, spawnChild } from "./process.ts";

export interface Mosquitto {
  port: number;
  /** `mqtt://127.0.0.1:PORT` */
  url: string;
  child: Child;
  stop(): Promise<void>;
}

/**
 * Starts a real Mosquitto broker on a free loopback port (or the given one) with a temporary
 * config: anonymous access, no persistence. `stop` ends it and removes the config.
 */
export async function startMosquitto(port = freePort()): Promise<Mosquitto> {
  const dir = await Deno.makeTempDir({ prefix: "mosquitto_" });
  const conf = `${dir}/mosquitto.conf`;
  await Deno.writeTextFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence false",
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      "log_type notice",
      "",
    ].join("\n"),
  );
  const child = spawnChild("mosquitto", ["-c", conf]);
  const cleanup = async () => {
    await child.stop(3000);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await Promise.race([
      waitForPort(port, 10_000),
      child.status.then(() => {
        throw new Error(`mosquitto exited at start:\n${child.output()}`);
      }),
    ]);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { port, url: `mqtt://127.0.0.1:${port}`, child, stop: cleanup };
}

/** Publishes one message with `mosquitto_pub`; the payload is a file (`-f`) or a string (`-m`). */
export async function mosquittoPub(
  port: number,
  topic: string,
  payload: { file: string } | { message: string },
): Promise<void> {
  const args = ["-h", "127.0.0.1", "-p", String(port), "-t", topic, "-q", "1"];
  if ("file" in payload) args.push("-f", payload.file);
  else args.push("-m", payload.message);
  const child = spawnChild("mosquitto_pub", args);
  const st = await child.status;
  if (st.code !== 0) throw new Error(`mosquitto_pub failed (${st.code}): ${child.output()}`);
}
