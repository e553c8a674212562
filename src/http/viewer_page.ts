/**
 * The live viewer, one page: at `/` every camera as a tile, at `/cameras/{name}/` one camera at
 * full size with its state and links. Both refresh their captions from `/cameras`. Frames are
 * letterboxed (`object-fit: contain`), never cropped.
 */
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
  header h1 a { color: inherit; text-decoration: none; }
  #grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 12px; padding: 12px; }
  figure { margin: 0; background: #1b1b1b; border-radius: 6px; overflow: hidden; }
  figure img { display: block; width: 100%; aspect-ratio: 16 / 9; object-fit: contain; background: #000; }
  figcaption { padding: 6px 10px; display: flex; justify-content: space-between; gap: 8px; }
  #camera { padding: 12px; }
  #camera img { display: block; max-width: 100%; max-height: calc(100vh - 250px); object-fit: contain; background: #000; margin: 0 auto; }
  #camera dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 12px 0; }
  #camera dt { color: #999; } #camera dd { margin: 0; overflow-wrap: anywhere; }
  nav a { margin-right: 14px; }
  .state-live, .state-push { color: #6c6; } .state-backoff, .state-stopped { color: #e66; } .state-connecting { color: #ec6; }
  .err { color: #e99; font-size: 12px; padding: 0 10px 6px; overflow-wrap: anywhere; }
  a { color: #8bf; }
</style>
</head>
<body>
<header><h1><a href="/">detector</a></h1><span id="summary">loading…</span></header>
<main id="grid"></main>
<script>
// A browser opens at most 6 HTTP/1.1 connections per host: the first cameras get live MJPEG
// streams, the rest are refreshed from their snapshot, so the page never stalls on connections.
const MAX_STREAMS = 4;
const SNAPSHOT_MS = 1000;
const REFRESH_MS = 1000;
const main = document.querySelector("main");
const one = /^\\/cameras\\/([^/]+)\\/$/.exec(location.pathname);
const only = one ? decodeURIComponent(one[1]) : null;
const tiles = new Map();
const el = (tag, props = {}, ...kids) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids);
  return e;
};
const age = (cam) => cam.ageMs === null ? "no frame yet" : (cam.ageMs / 1000).toFixed(1) + " s old";
const status = (cam) => el("span", { className: "state-" + cam.state, textContent: cam.state + " · " + cam.fps + " fps · " + age(cam) });
function stream(img, url) {
  img.src = url;
  // A broken stream (server restart) is reopened.
  img.onerror = () => setTimeout(() => { if (img.isConnected) img.src = url + "?r=" + Date.now(); }, 2000);
}
function tile(cam, index) {
  let t = tiles.get(cam.name);
  if (t) return t;
  const img = el("img", { alt: cam.name });
  const link = el("a", { href: "/cameras/" + encodeURIComponent(cam.name) + "/" }, img);
  const cap = el("figcaption");
  const err = el("div", { className: "err" });
  const fig = el("figure", {}, link, cap, err);
  fig.dataset.camera = cam.name;
  main.append(fig);
  t = { fig, img, cap, err, live: index < MAX_STREAMS };
  fig.dataset.mode = t.live ? "stream" : "snapshot";
  tiles.set(cam.name, t);
  if (t.live) stream(img, cam.stream);
  else {
    const poll = () => { if (img.isConnected) img.src = cam.snapshot + "?t=" + Date.now(); };
    img.onload = img.onerror = () => setTimeout(poll, SNAPSHOT_MS);
    poll();
  }
  return t;
}
function showGrid(cams) {
  document.getElementById("summary").textContent = cams.length + " camera(s)";
  const names = new Set(cams.map((c) => c.name));
  for (const [name, t] of tiles) {
    if (!names.has(name)) { t.img.removeAttribute("src"); t.fig.remove(); tiles.delete(name); }
  }
  cams.forEach((cam, i) => {
    const t = tile(cam, i);
    t.cap.replaceChildren(el("a", { href: "/cameras/" + encodeURIComponent(cam.name) + "/", textContent: cam.name }), status(cam));
    t.err.textContent = cam.state === "live" ? "" : (cam.lastError || "");
  });
}
let view;
function showCamera(cams) {
  const cam = cams.find((c) => c.name === only);
  document.getElementById("summary").replaceChildren(cam ? status(cam) : "camera not found");
  if (!cam) return;
  if (!view) {
    main.id = "camera";
    const img = el("img", { alt: cam.name });
    const dl = el("dl");
    const nav = el("nav", {},
      ...[["snapshot", cam.snapshot], ["stream", cam.stream], ["events", cam.events],
        ["history", "/cameras/" + encodeURIComponent(cam.name) + "/history"], ["all cameras", "/"]]
        .map(([text, href]) => el("a", { href, textContent: text })));
    main.append(img, dl, nav);
    main.dataset.camera = cam.name;
    stream(img, cam.stream);
    view = { img, dl };
    document.title = "detector — " + cam.name;
  }
  const rows = [["camera", cam.name], ["state", cam.state + " since " + cam.since], ["fps", String(cam.fps)],
    ["age", age(cam)], ["size", cam.width ? cam.width + "×" + cam.height : "—"], ["frames", String(cam.framesIn)],
    ["last error", cam.lastError || "—"]];
  view.dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { textContent: k }), el("dd", { textContent: v })]));
}
async function refresh() {
  try {
    const cams = await (await fetch("/cameras")).json();
    only === null ? showGrid(cams) : showCamera(cams);
  } catch (e) {
    document.getElementById("summary").textContent = "server unreachable: " + e;
  }
}
// Leaving the page ends its streams at once instead of when the browser gets round to it.
addEventListener("pagehide", () => {
  for (const img of document.querySelectorAll("img")) { img.onerror = null; img.removeAttribute("src"); img.remove(); }
});
refresh();
setInterval(refresh, REFRESH_MS);
</script>
</body>
</html>
`;
