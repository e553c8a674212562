import assert from "node:assert/strict";
import { launchChromium, type Page } from "../harness/chromium.ts";
import { startDetector } from "../harness/detector.ts";
import { eventually } from "../harness/process.ts";

interface TileView {
  camera: string;
  mode: string;
  caption: string;
  width: number;
  /** Hash of the pixels the <img> shows now, or null before it shows anything. */
  hash: string | null;
}

/** What each tile shows: the <img> is drawn into a canvas and its pixels hashed. */
function tiles(page: Page): Promise<TileView[]> {
  return page.evaluate<TileView[]>(`(async () => {
    const out = [];
    for (const fig of document.querySelectorAll("figure[data-camera]")) {
      const img = fig.querySelector("img");
      let hash = null;
      if (img.complete && img.naturalWidth > 0) {
        const c = document.createElement("canvas");
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext("2d");
        g.drawImage(img, 0, 0);
        const px = g.getImageData(0, 0, c.width, c.height).data;
        const digest = await crypto.subtle.digest("SHA-256", px);
        hash = Array.from(new Uint8Array(digest).slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
      }
      out.push({
        camera: fig.dataset.camera,
        mode: fig.dataset.mode,
        caption: fig.querySelector("figcaption").textContent,
        width: img.naturalWidth,
        hash,
      });
    }
    return out;
  })()`);
}

/** Waits until every camera's tile has shown `changes` different images. */
async function watchEveryTileChange(page: Page, cameras: string[], changes: number) {
  const seen = new Map<string, Set<string>>(cameras.map((c) => [c, new Set()]));
  await eventually(
    async () => {
      for (const t of await tiles(page)) {
        if (t.hash) seen.get(t.camera)?.add(t.hash);
      }
      return [...seen.values()].every((s) => s.size >= changes);
    },
    `every tile to show ${changes} different images`,
    30_000,
    150,
  ).catch((err) => {
    const counts = Object.fromEntries([...seen].map(([c, s]) => [c, s.size]));
    throw new Error(`${err.message}; distinct images per camera: ${JSON.stringify(counts)}`);
  });
}

Deno.test("the viewer page shows every camera and its image changes with new frames", async () => {
  const names = ["door", "yard", "garage"];
  const d = await startDetector([
    "serve",
    ...names.flatMap((n, i) => ["--source", `${n}=testpattern:?fps=${4 + i}&size=320x180`]),
  ]);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.navigate(`${d.url}/`);
    await eventually(
      async () => {
        const t = await tiles(page);
        return t.length === names.length &&
          t.every((x) => x.width === 320 && /live/.test(x.caption));
      },
      "one live tile per camera with a picture",
      30_000,
      100,
    );
    const shown = await tiles(page);
    assert.deepEqual(shown.map((t) => t.camera), names);
    assert.ok(shown.every((t) => t.mode === "stream"), "a few cameras are all live streams");
    assert.match(
      await page.evaluate<string>(`document.getElementById("summary").textContent`),
      /3 camera/,
    );

    await watchEveryTileChange(page, names, 3);

    // What a person sees: two screenshots a moment apart differ.
    const first = await page.screenshot();
    assert.deepEqual([...first.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
    await eventually(
      async () => {
        const again = await page.screenshot();
        return again.byteLength !== first.byteLength || again.some((b, i) => b !== first[i]);
      },
      "the rendered page to change",
      10_000,
      200,
    );

    // The streams the page holds are counted; closing the page releases them.
    await eventually(async () => {
      const m = await (await fetch(`${d.url}/metrics`)).text();
      return /^detector_http_mjpeg_clients 3$/m.test(m);
    }, "3 MJPEG streams held by the page");
    await page.navigate("about:blank");
    await eventually(async () => {
      const m = await (await fetch(`${d.url}/metrics`)).text();
      return /^detector_http_mjpeg_clients 0$/m.test(m);
    }, "streams released after leaving the page");
  } finally {
    await browser.close();
    await d.stop();
  }
});

Deno.test("with more cameras than a browser's connections, every tile still updates", async () => {
  const names = Array.from({ length: 7 }, (_, i) => `cam${i + 1}`);
  const d = await startDetector([
    "serve",
    ...names.flatMap((n) => ["--source", `${n}=testpattern:?fps=3&size=160x90`]),
  ]);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.navigate(`${d.url}/`);
    await eventually(
      async () => {
        const t = await tiles(page);
        return t.length === names.length && t.every((x) => x.width === 160);
      },
      "seven tiles with pictures",
      30_000,
      100,
    );
    const shown = await tiles(page);
    assert.deepEqual(shown.map((t) => t.camera), names);
    assert.equal(shown.filter((t) => t.mode === "stream").length, 4);
    await watchEveryTileChange(page, names, 2);
  } finally {
    await browser.close();
    await d.stop();
  }
});
