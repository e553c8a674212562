/**
 * `scripts/install.sh --prefix DIR --systemd` into a fresh temporary prefix: the installed
 * `detector` command runs outside the checkout with a bare PATH, its exit codes pass through,
 * every unit passes `systemd-analyze verify`, and `--uninstall` removes what was installed.
 */
import { MEMORY_RUNTIME_ARGS } from "../../src/core/memory_flags.ts";
import assert from "node:assert/strict";
import { freePort } from "../harness/ports.ts";
import { spawnChild } from "../harness/process.ts";

const repo = new URL("../../", import.meta.url).pathname;
const UNITS = [
  "detector-serve.service",
  "detector-run.service",
  "prusa-snapshot.service",
  "prusa-snapshot.timer",
];
/** The PATH of a systemd service or a fresh login: nothing of the checkout on it. */
const BARE_ENV = { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", LANG: "C.UTF-8" };

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; out: string }> {
  const child = spawnChild(cmd, args, opts);
  const timer = setTimeout(() => child.stop(), 300_000);
  const status = await child.status;
  clearTimeout(timer);
  return { code: status.code, out: child.output() };
}

Deno.test("install.sh --prefix: a working detector command, verified units, clean uninstall", async () => {
  const prefix = await Deno.makeTempDir({ prefix: "detector_install_" });
  const home = `${prefix}/home`;
  try {
    // The installer runs with the test's HOME (its Deno cache already holds the packages); the
    // installed command with a fresh one.
    const installEnv = { ...BARE_ENV, HOME: Deno.env.get("HOME") ?? home };
    const env = { ...BARE_ENV, HOME: home };
    const inst = await run("bash", [`${repo}scripts/install.sh`, "--prefix", prefix, "--systemd"], {
      env: installEnv,
    });
    assert.equal(inst.code, 0, inst.out);
    const bin = `${prefix}/bin/detector`;
    assert.match(inst.out, new RegExp(`installed ${bin} \\(\\d+\\.\\d+\\.\\d+\\)`));

    // Runs from anywhere, with a bare PATH and no Deno cache of its own.
    const cwd = await Deno.makeTempDir({ dir: prefix });
    const version = await run(bin, ["--version"], { cwd, env });
    assert.equal(version.code, 0, version.out);
    assert.match(version.out, /^\d+\.\d+\.\d+\s*$/);
    const valid = await run(
      bin,
      ["mpta", "validate", `${prefix}/lib/detector/pipelines/car_detection_only.mpta`],
      { cwd, env },
    );
    assert.equal(valid.code, 0, valid.out);
    assert.match(valid.out, /ok \(1 model\)/);
    const usage = await run(bin, ["probe", "--no-such-flag"], { cwd, env });
    assert.equal(usage.code, 2, usage.out);

    const port = freePort();
    const serve = spawnChild(bin, ["serve", "--source", "demo=testpattern:", "--port", `${port}`], {
      cwd,
      env,
    });
    try {
      await serve.waitFor(/listening on http/, 60_000);
      let snapshot: Response | undefined;
      for (let i = 0; i < 100; i++) {
        snapshot = await fetch(`http://127.0.0.1:${port}/snapshot.jpg`);
        if (snapshot.status === 200) break;
        await snapshot.body?.cancel();
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(snapshot?.status, 200);
      assert.equal(snapshot?.headers.get("content-type"), "image/jpeg");
      await snapshot?.body?.cancel();
      // once its camera delivers, the installed serve reports itself healthy
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual((await health.json()).status, "ok");
      // the command runs the program with the memory settings (README "Memory of serve and run")
      const environ = await Deno.readTextFile(`/proc/${serve.pid}/environ`);
      assert.ok(environ.split("\0").includes("MALLOC_ARENA_MAX=2"), "MALLOC_ARENA_MAX=2 is set");
      const cmdline = (await Deno.readTextFile(`/proc/${serve.pid}/cmdline`)).split("\0");
      for (const a of MEMORY_RUNTIME_ARGS) assert.ok(cmdline.includes(a), cmdline.join(" "));
    } finally {
      assert.equal((await serve.stop(10_000)).code, 0, serve.output());
    }

    for (const unit of UNITS) {
      const path = `${prefix}/lib/systemd/system/${unit}`;
      const text = await Deno.readTextFile(path);
      assert.ok(!text.includes("/usr/local/bin/detector"), `${unit} runs the installed command`);
      if (unit.endsWith(".service")) assert.ok(text.includes(`ExecStart=${bin} `), unit);
      const verify = await run("systemd-analyze", ["verify", "--man=no", path], { env });
      assert.equal(verify.code, 0, `${unit}:\n${verify.out}`);
      assert.equal(verify.out.trim(), "", `${unit}: systemd-analyze has no remarks`);
    }
    for (const envFile of ["serve.env", "run.env", "prusa.env"]) {
      const st = await Deno.stat(`${prefix}/etc/detector/${envFile}`);
      assert.equal(st.mode! & 0o777, 0o600, `${envFile} readable by its owner only`);
    }

    const un = await run("bash", [`${repo}scripts/install.sh`, "--prefix", prefix, "--uninstall"], {
      env: installEnv,
    });
    assert.equal(un.code, 0, un.out);
    await assert.rejects(() => Deno.stat(bin));
    await assert.rejects(() => Deno.stat(`${prefix}/lib/detector`));
    await assert.rejects(() => Deno.stat(`${prefix}/lib/systemd/system/detector-serve.service`));
    assert.ok((await Deno.stat(`${prefix}/etc/detector/prusa.env`)).isFile, "settings are kept");
  } finally {
    await Deno.remove(prefix, { recursive: true });
  }
});

Deno.test("install.sh: bad options exit 2 and install nothing", async () => {
  const prefix = await Deno.makeTempDir({ prefix: "detector_install_" });
  try {
    const r = await run("bash", [`${repo}scripts/install.sh`, "--prefix", prefix, "--nope"], {
      env: BARE_ENV,
    });
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /unknown option --nope/);
    assert.deepEqual([...Deno.readDirSync(prefix)], []);
  } finally {
    await Deno.remove(prefix, { recursive: true });
  }
});

function systemdRuns(): boolean {
  try {
    return Deno.uid() === 0 && Deno.statSync("/run/systemd/system").isDirectory;
  } catch {
    return false;
  }
}

Deno.test({
  name: "the installed detector-serve.service starts under systemd and answers /healthz",
  // Starting units needs a running systemd (and root); verifying them above does not.
  ignore: !systemdRuns(),
  fn: async () => {
    // Not below /tmp: the unit has PrivateTmp=yes and would not see it.
    const prefix = await Deno.makeTempDir({ dir: "/opt", prefix: "detector_unit_test_" });
    await Deno.chmod(prefix, 0o755);
    const port = freePort();
    const unit = `detector-serve-test-${port}.service`;
    try {
      const inst = await run(
        "bash",
        [`${repo}scripts/install.sh`, "--prefix", prefix, "--systemd"],
        {
          env: BARE_ENV,
        },
      );
      assert.equal(inst.code, 0, inst.out);
      await Deno.writeTextFile(
        `${prefix}/etc/detector/serve.env`,
        `SERVE_ARGS=--source demo=testpattern: --port ${port}\n`,
      );
      await Deno.copyFile(
        `${prefix}/lib/systemd/system/detector-serve.service`,
        `/run/systemd/system/${unit}`,
      );
      assert.equal((await run("systemctl", ["daemon-reload"])).code, 0);
      const start = await run("systemctl", ["start", unit]);
      assert.equal(start.code, 0, start.out);
      let ok = false;
      for (let i = 0; i < 600 && !ok; i++) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/healthz`);
          ok = r.status === 200 && (await r.json()).status === "ok";
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.ok(ok, "the service answers /healthz within 60 s");
      assert.equal((await run("systemctl", ["stop", unit])).code, 0);
      const state = await run("systemctl", ["is-active", unit]);
      assert.equal(state.out.trim(), "inactive", "stopped cleanly (not failed)");
    } finally {
      await run("systemctl", ["stop", unit]);
      await Deno.remove(`/run/systemd/system/${unit}`).catch(() => {});
      await run("systemctl", ["daemon-reload"]);
      await Deno.remove(prefix, { recursive: true });
    }
  },
});
