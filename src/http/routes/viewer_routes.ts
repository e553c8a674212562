import { resolveCamera, type ServeContext } from "../context.ts";
import type { Params, Route } from "../router.ts";
import { viewerPage } from "../viewer_page.ts";

const page = () =>
  new Response(viewerPage, {
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
  });

/** The viewer at `/` and one camera's page at `/cameras/{name}/` (the same document). */
export function viewerRoutes(ctx: ServeContext): Route[] {
  const cameraPage = (_req: Request, params: Params) => {
    const camera = resolveCamera(ctx, params.name);
    return camera instanceof Response ? camera : page();
  };
  return [
    { method: "GET", path: "/", handler: page },
    { method: "GET", path: "/cameras/:name/", handler: cameraPage },
    {
      method: "GET",
      path: "/cameras/:name",
      handler: (_req: Request, params: Params) => {
        const camera = resolveCamera(ctx, params.name);
        if (camera instanceof Response) return camera;
        return new Response(null, {
          status: 301,
          headers: { location: `/cameras/${encodeURIComponent(camera)}/` },
        });
      },
    },
  ];
}
