/**
 * A real HTTP server on a free loopback port that serves files from memory, with per-path modes
 * for the bad cases a model URL can hit: `ok`, `html` (a 200 login page), `404`, `500`, `hang`
 * (headers never come), `stall` (headers and a few bytes, then nothing).
 */
export type FileMode = "ok" | "html" | "404" | "500" | "hang" | "stall";

export interface HttpFiles {
  url(path: string): string;
  set(path: string, body: Uint8Array, mode?: FileMode): void;
  mode(path: string, mode: FileMode): void;
  /** Requests received per path. */
  hits(path: string): number;
  close(): Promise<void>;
}

export function serveFiles(files: Record<string, Uint8Array> = {}): HttpFiles {
  const bodies = new Map(Object.entries(files));
  const modes = new Map<string, FileMode>();
  const hits = new Map<string, number>();
  const hanging = new Set<() => void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const mode = modes.get(path) ?? "ok";
    const body = bodies.get(path);
    switch (mode) {
      case "html":
        return new Response("<!DOCTYPE html><html><body>Please log in</body></html>", {
          headers: { "content-type": "text/html; charset=utf-8" },
        });
      case "404":
        return new Response("not found", { status: 404 });
      case "500":
        return new Response("oops", { status: 500 });
      case "hang":
        return new Promise<Response>((resolve) => {
          hanging.add(() => resolve(new Response("late", { status: 503 })));
        });
      case "stall": {
        let release = () => {};
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue((body ?? new Uint8Array(8)).slice(0, 8));
            release = () => {
              try {
                controller.close();
              } catch { /* closed */ }
            };
            hanging.add(release);
          },
          cancel() {
            hanging.delete(release);
          },
        });
        return new Response(stream, { headers: { "content-type": "application/octet-stream" } });
      }
      default:
        if (!body) return new Response("not found", { status: 404 });
        return new Response(body as Uint8Array<ArrayBuffer>, {
          headers: { "content-type": "application/octet-stream" },
        });
    }
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    url: (path) => `${base}${path.startsWith("/") ? path : `/${path}`}`,
    set(path, body, mode) {
      bodies.set(path, body);
      if (mode) modes.set(path, mode);
    },
    mode: (path, mode) => void modes.set(path, mode),
    hits: (path) => hits.get(path) ?? 0,
    async close() {
      for (const release of hanging) release();
      hanging.clear();
      await server.shutdown();
    },
  };
}
