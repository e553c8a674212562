/**
 * A real PostgreSQL 15 for tests: `initdb` into a temp dir and `pg_ctl start` on a free loopback
 * port. PostgreSQL refuses to run as root, so as root the binaries run as the `postgres` OS user
 * (runuser) on a directory chowned to it. Authentication: trust for the `postgres` superuser,
 * password (scram) for the `detector_pw` role — the wrong-password tests use that one.
 */
import postgres from "postgres";
import { freePort } from "./ports.ts";

const BIN = Deno.env.get("PG_BIN") ?? "/usr/lib/postgresql/15/bin";
const isRoot = Deno.uid() === 0;

export const PASSWORD_USER = "detector_pw";
export const PASSWORD = "right-pass";

async function run(cmd: string, args: string[]): Promise<string> {
  const [exe, argv] = isRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
  const out = await new Deno.Command(exe, { args: argv, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${text}`);
  return text;
}

export interface PostgresServer {
  port: number;
  /** Trusted superuser URL (database `detector`). */
  url: string;
  /** URL of the password-authenticated role, with the given password. */
  passwordUrl(password: string): string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A client as the superuser (closed by `close`). */
  sql(): postgres.Sql;
  close(): Promise<void>;
}

export async function startPostgres(): Promise<PostgresServer> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "pg_test_" });
  const data = `${dir}/data`;
  await Deno.mkdir(data);
  if (isRoot) {
    await new Deno.Command("chown", { args: ["-R", "postgres:postgres", dir] }).output();
  }
  await run(`${BIN}/initdb`, [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync",
  ]);
  await Deno.writeTextFile(
    `${data}/pg_hba.conf`,
    [
      "local all all trust",
      `host all ${PASSWORD_USER} 127.0.0.1/32 scram-sha-256`,
      "host all all 127.0.0.1/32 trust",
      "",
    ].join("\n"),
  );
  const clients: postgres.Sql[] = [];
  let running = false;
  const server: PostgresServer = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/detector`,
    passwordUrl: (pw) =>
      `postgres://${PASSWORD_USER}:${encodeURIComponent(pw)}@127.0.0.1:${port}/detector`,
    async start() {
      if (running) return;
      await run(`${BIN}/pg_ctl`, [
        "-D",
        data,
        "-l",
        `${dir}/log`,
        "-w",
        "-t",
        "30",
        "-o",
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off`,
        "start",
      ]);
      running = true;
    },
    async stop() {
      if (!running) return;
      running = false;
      await run(`${BIN}/pg_ctl`, ["-D", data, "-m", "fast", "-w", "stop"]);
    },
    sql() {
      const s = postgres(server.url, { max: 2, onnotice: () => {} });
      clients.push(s);
      return s;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.end({ timeout: 1 })));
      await server.stop().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  try {
    await server.start();
    const admin = postgres(`postgres://postgres@127.0.0.1:${port}/postgres`, {
      max: 1,
      onnotice: () => {},
    });
    try {
      await admin.unsafe("CREATE DATABASE detector");
      await admin.unsafe(`CREATE ROLE ${PASSWORD_USER} LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
    } finally {
      await admin.end({ timeout: 1 });
    }
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}
