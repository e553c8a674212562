import { errorMessage, logger } from "../core/mod.ts";
import type { ClientConnection, DirectResponder } from "./front_door.ts";
import { type RequestHead, requestUrl } from "./request_head.ts";
import { writeResponse } from "./response_writer.ts";
import { pathnameOf, type Router } from "./router.ts";

/** Runs one request through the router with the connection's bookkeeping (see `server.ts`). */
export type ServeRequest = (
  req: Request,
  client: ClientConnection,
  completed: Promise<void>,
) => Response | Promise<Response>;

const log = logger("http");

/**
 * Answers the GET and HEAD requests of the router's `direct` routes on the client connection:
 * the same router, guard and handlers as relayed requests, written by `writeResponse`. Requests
 * with a body or an upgrade, and heads the door cannot read plainly, are left to the relay.
 */
export class RouterResponder implements DirectResponder {
  constructor(
    private readonly router: Router,
    private readonly serveRequest: ServeRequest,
    private readonly localHost: string,
  ) {}

  accept(head: RequestHead): Request | undefined {
    if (head.method !== "GET" && head.method !== "HEAD") return undefined;
    if (head.hasBody || head.upgrade) return undefined;
    const url = requestUrl(head, this.localHost);
    if (url === undefined) return undefined;
    try {
      if (!this.router.isDirect(pathnameOf(url))) return undefined;
      return new Request(url, { method: head.method, headers: head.headers });
    } catch {
      return undefined;
    }
  }

  async serve(
    req: Request,
    head: RequestHead,
    conn: Deno.TcpConn,
    client: ClientConnection,
  ): Promise<boolean> {
    const done = Promise.withResolvers<void>();
    done.promise.catch(() => {});
    let res: Response;
    try {
      res = await this.serveRequest(req, client, done.promise);
    } catch (err) {
      log.error("request failed", { error: errorMessage(err) });
      res = new Response("internal error", { status: 500 });
    }
    try {
      const again = await writeResponse(conn, res, {
        headOnly: head.method === "HEAD",
        keepAlive: head.keepAlive,
        chunked: head.version === "HTTP/1.1",
        watch: client,
      });
      done.resolve();
      return again;
    } catch (err) {
      done.reject(err);
      return false;
    }
  }
}
