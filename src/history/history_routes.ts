import { frameHeaders, type ServeContext } from "../http/mod.ts";
import { json, jsonError } from "../http/mod.ts";
import type { Params, Route } from "../http/mod.ts";
import { historyNameProblem, parseTimestamp } from "./history_names.ts";
import type { HistoryStore } from "./history_store.ts";

const HISTORY_OFF = "history is off: start serve with --history DIR";

/**
 * Latest screenshot and the per-camera history kept on disk (404 naming the missing flag when
 * `history` is undefined).
 */
export function historyRoutes(ctx: ServeContext, history: HistoryStore | undefined): Route[] {
  const screenshot = (_req: Request, p: Params) => {
    let camera = p.camera;
    if (!ctx.cache.has(camera) && camera.endsWith(".jpg")) camera = camera.slice(0, -4);
    const frame = ctx.cache.latest(camera);
    if (!frame) return jsonError(404, `no screenshot of camera "${camera}"`);
    return new Response(frame.jpeg as Uint8Array<ArrayBuffer>, {
      headers: {
        "content-type": "image/jpeg",
        "cache-control": "no-store",
        ...frameHeaders(frame),
      },
    });
  };
  const list = (_req: Request, p: Params) => {
    if (!history) return jsonError(404, HISTORY_OFF);
    const problem = historyNameProblem(p.name);
    if (problem) return jsonError(400, problem);
    const base = `/cameras/${encodeURIComponent(p.name)}/history`;
    const items = history.list(p.name).map((ts) => ({
      timestamp: ts,
      time: new Date(ts).toISOString(),
      url: `${base}/${ts}.jpg`,
    }));
    if (items.length === 0 && !ctx.cache.has(p.name)) {
      return jsonError(404, `unknown camera "${p.name}"`, { cameras: ctx.cache.cameras() });
    }
    return json({ camera: p.name, keep: history.keep, items });
  };
  const file = async (_req: Request, p: Params) => {
    if (!history) return jsonError(404, HISTORY_OFF);
    const problem = historyNameProblem(p.name);
    if (problem) return jsonError(400, problem);
    const ts = parseTimestamp(p.ts);
    if (ts === undefined) {
      return jsonError(400, `timestamp "${p.ts.slice(0, 40)}" must be 13 digits (ms since 1970)`);
    }
    if (!history.has(p.name, ts)) {
      return jsonError(404, `camera "${p.name}" has no history frame ${ts}`);
    }
    try {
      const f = await Deno.open(history.pathOf(p.name, ts), { read: true });
      return new Response(f.readable, {
        headers: {
          "content-type": "image/jpeg",
          "cache-control": "public, max-age=31536000, immutable",
          "x-frame-time": new Date(ts).toISOString(),
        },
      });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        return jsonError(404, `history frame ${ts} of camera "${p.name}" was just deleted`);
      }
      throw err;
    }
  };
  return [
    { method: "GET", path: "/screenshots/:camera", handler: screenshot },
    { method: "GET", path: "/cameras/:name/history", handler: list },
    { method: "GET", path: "/cameras/:name/history/:ts.jpg", handler: file },
  ];
}
