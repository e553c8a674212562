/** The live viewer: every camera's MJPEG stream with its state, refreshed from `/cameras`. */
export const viewerPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>detector — cameras</title>
<style>
  body { margin: 0; font: 14px system-ui, sans-serif; background: #111; color: #ddd; }
  header { padding: 10px 16px; background: #1b1b1b; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 16px; margin: 0; }
  main { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 12px; padding: 12px; }
  figure { margin: 0; background: #1b1b1b; border-radius: 6px; overflow: hidden; }
  figure img { display: block; width: 100%; aspect-ratio: 16 / 9; object-fit: contain; background: #000; }
  figcaption { padding: 6px 10px; display: flex; justify-content: space-between; gap: 8px; }
  .state-live { color: #6c6; } .state-backoff, .state-stopped { color: #e66; } .state-connecting { color: #ec6; }
  .err { color: #e99; font-size: 12px; padding: 0 10px 6px; overflow-wrap: anywhere; }
  a { color: #8bf; }
</style>
</head>
<body>
<header><h1>detector</h1><span id="summary">loading…</span></header>
<main id="grid"></main>
<script>
// A browser opens at most 6 HTTP/1.1 connections per host: the first cameras get live MJPEG
// streams, the rest are refreshed from their snapshot, so the page never stalls on connections.
const MAX_STREAMS = 4;
const SNAPSHOT_MS = 1000;
const grid = document.getElementById("grid");
const tiles = new Map();
function tile(cam, index) {
  let t = tiles.get(cam.name);
  if (t) return t;
  const fig = document.createElement("figure");
  fig.dataset.camera = cam.name;
  const img = document.createElement("img");
  img.alt = cam.name;
  const cap = document.createElement("figcaption");
  const err = document.createElement("div");
  err.className = "err";
  fig.append(img, cap, err);
  grid.append(fig);
  t = { fig, img, cap, err, live: index < MAX_STREAMS, stopped: false };
  fig.dataset.mode = t.live ? "stream" : "snapshot";
  tiles.set(cam.name, t);
  if (t.live) {
    img.src = cam.stream;
    // A broken stream (server restart) is reopened.
    img.onerror = () => setTimeout(() => { if (!t.stopped) img.src = cam.stream + "?r=" + Date.now(); }, 2000);
  } else {
    const poll = () => {
      if (t.stopped) return;
      img.src = cam.snapshot + "?t=" + Date.now();
    };
    img.onload = img.onerror = () => setTimeout(poll, SNAPSHOT_MS);
    poll();
  }
  return t;
}
async function refresh() {
  try {
    const cams = await (await fetch("/cameras")).json();
    document.getElementById("summary").textContent = cams.length + " camera(s)";
    const names = new Set(cams.map((c) => c.name));
    for (const [name, t] of tiles) {
      if (!names.has(name)) { t.stopped = true; t.img.src = ""; t.fig.remove(); tiles.delete(name); }
    }
    cams.forEach((cam, i) => {
      const t = tile(cam, i);
      const age = cam.ageMs === null ? "no frame yet" : (cam.ageMs / 1000).toFixed(1) + " s old";
      t.cap.innerHTML = "";
      const name = document.createElement("a");
      name.href = cam.snapshot; name.textContent = cam.name;
      const state = document.createElement("span");
      state.className = "state-" + cam.state;
      state.textContent = cam.state + " · " + cam.fps + " fps · " + age;
      t.cap.append(name, state);
      t.err.textContent = cam.state === "live" ? "" : (cam.lastError || "");
    });
  } catch (e) {
    document.getElementById("summary").textContent = "server unreachable: " + e;
  }
}
// Leaving the page ends its streams at once instead of when the browser gets round to it.
addEventListener("pagehide", () => {
  for (const t of tiles.values()) { t.stopped = true; t.img.removeAttribute("src"); }
});
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
