import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { zipSync } from "fflate";
import { ModelStore } from "../../src/worker/model_store.ts";
import { Metrics } from "../../src/core/metrics.ts";
import { serveFiles } from "../harness/http_files.ts";

const archive = zipSync({ "pipeline.json": new TextEncoder().encode('{"pipeline":{}}') });
const sha = createHash("sha256").update(archive).digest("hex");

async function withStore(
  fn: (store: ModelStore, dir: string, files: ReturnType<typeof serveFiles>) => Promise<void>,
  opts: Partial<ConstructorParameters<typeof ModelStore>[0]> = {},
) {
  const dir = await Deno.makeTempDir();
  const files = serveFiles({ "/m.mpta": archive });
  try {
    await fn(
      new ModelStore({
        dir,
        timeoutMs: 500,
        attempts: 3,
        retryDelayMs: 20,
        metrics: new Metrics(),
        ...opts,
      }),
      dir,
      files,
    );
  } finally {
    await files.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function leftovers(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) {
      for await (const f of Deno.readDir(`${dir}/${e.name}`)) {
        if (f.name.endsWith(".tmp")) out.push(f.name);
      }
    }
  }
  return out;
}

Deno.test("download: stored by modelId and content hash, then served from the cache", async () => {
  await withStore(async (store, dir, files) => {
    const [p1, p2] = await Promise.all([
      store.resolve(files.url("/m.mpta"), 101),
      store.resolve(files.url("/m.mpta"), 101),
    ]);
    assert.equal(p1, `${dir}/101/${sha}.mpta`);
    assert.equal(p2, p1);
    assert.deepEqual(await Deno.readFile(p1), archive);
    assert.equal(files.hits("/m.mpta"), 1, "concurrent resolves share one download");
    const again = new ModelStore({ dir, metrics: new Metrics() }); // a restarted worker
    assert.equal(await again.resolve(files.url("/m.mpta"), 101), p1);
    assert.equal(files.hits("/m.mpta"), 1, "the cache answers without the network");
    assert.deepEqual(await leftovers(dir), []);
  });
});

Deno.test("a URL answering HTML is refused at once, named as HTML, not retried", async () => {
  await withStore(async (store, dir, files) => {
    files.mode("/m.mpta", "html");
    await assert.rejects(
      store.resolve(files.url("/m.mpta"), 7),
      /did not return an \.mpta \(ZIP\) archive but an HTML page \(content-type text\/html/,
    );
    assert.equal(files.hits("/m.mpta"), 1);
    assert.deepEqual(await leftovers(dir), []);
  });
});

Deno.test("404 is not retried; 500 is retried, then fails", async () => {
  await withStore(async (store, _dir, files) => {
    files.mode("/m.mpta", "404");
    await assert.rejects(store.resolve(files.url("/m.mpta"), 7), /HTTP 404/);
    assert.equal(files.hits("/m.mpta"), 1);
    files.mode("/m.mpta", "500");
    await assert.rejects(store.resolve(files.url("/m.mpta"), 7), /HTTP 500/);
    assert.equal(files.hits("/m.mpta"), 1 + 3);
  });
});

Deno.test("a server that never answers, or stalls mid-body, times out", async () => {
  await withStore(async (store, dir, files) => {
    files.mode("/m.mpta", "hang");
    await assert.rejects(store.resolve(files.url("/m.mpta"), 7), /no answer within 300 ms/);
    assert.equal(files.hits("/m.mpta"), 2);
    files.mode("/m.mpta", "stall");
    await assert.rejects(
      store.resolve(files.url("/m.mpta"), 7),
      /stalled for 300 ms after 8 bytes/,
    );
    assert.deepEqual(await leftovers(dir), []);
  }, { timeoutMs: 300, attempts: 2 });
});

Deno.test("archives over the size limit are refused", async () => {
  await withStore(async (store, dir, files) => {
    await assert.rejects(
      store.resolve(files.url("/m.mpta"), 7),
      new RegExp(`${archive.byteLength} bytes is larger than the limit of 32`),
    );
    assert.deepEqual(await leftovers(dir), []);
  }, { maxBytes: 32 });
});

Deno.test("unreachable host and missing local file fail with the URL or path named", async () => {
  await withStore(async (store) => {
    await assert.rejects(
      store.resolve("http://127.0.0.1:1/m.mpta", 7),
      /modelUrl http:\/\/127.0.0.1:1\/m.mpta/,
    );
    await assert.rejects(
      store.resolve("/nonexistent/x.mpta", 7),
      /modelUrl "\/nonexistent\/x.mpta"/,
    );
  }, { attempts: 1 });
});

Deno.test("local paths and file:// URLs are used in place", async () => {
  await withStore(async (store, dir) => {
    const path = `${dir}/local.mpta`;
    await Deno.writeFile(path, archive);
    assert.equal(await store.resolve(path, 1), path);
    assert.equal(await store.resolve(`file://${path}`, 1), path);
  });
});

Deno.test("passwords in model URLs never reach the disk or the error", async () => {
  await withStore(async (store, dir, files) => {
    const url = files.url("/m.mpta").replace("http://", "http://bob:hunter2@");
    files.mode("/m.mpta", "404");
    await assert.rejects(store.resolve(url, 5), (err: Error) => !err.message.includes("hunter2"));
    files.mode("/m.mpta", "ok");
    await store.resolve(url, 5);
    const index = await Deno.readTextFile(`${dir}/5/index.json`);
    assert.ok(!index.includes("hunter2") && !index.includes("127.0.0.1"));
  }, { attempts: 1 });
});
