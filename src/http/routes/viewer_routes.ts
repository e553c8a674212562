import type { Route } from "../router.ts";
import { viewerPage } from "../viewer_page.ts";

export function viewerRoutes(): Route[] {
  return [{
    method: "GET",
    path: "/",
    handler: () =>
      new Response(viewerPage, {
        headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
      }),
  }];
}
