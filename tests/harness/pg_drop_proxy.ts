/**
 * A TCP proxy in front of PostgreSQL that ends its first connection right after the server's
 * first ReadyForQuery: the moment a client has just connected and sends its first query. Later
 * connections pass through untouched.
 */
export interface PgDropProxy {
  port: number;
  /** Connections ended so far (0 or 1). */
  drops(): number;
  close(): Promise<void>;
}

/** ReadyForQuery, idle: 'Z', length 5, 'I'. */
const READY = [0x5a, 0, 0, 0, 5, 0x49];

function hasReady(chunk: Uint8Array): boolean {
  outer: for (let i = 0; i + READY.length <= chunk.length; i++) {
    for (let j = 0; j < READY.length; j++) if (chunk[i + j] !== READY[j]) continue outer;
    return true;
  }
  return false;
}

export function startPgDropProxy(upstreamPort: number): PgDropProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const pipes: Promise<unknown>[] = [];
  let connections = 0;
  let drops = 0;
  const end = (c: Deno.Conn) => {
    if (!open.delete(c)) return;
    try {
      c.close();
    } catch {
      // already closed by the other side
    }
  };
  const serve = async (client: Deno.Conn, drop: boolean) => {
    const upstream = await Deno.connect({ hostname: "127.0.0.1", port: upstreamPort });
    open.add(client).add(upstream);
    const up = (async () => {
      const buf = new Uint8Array(64 * 1024);
      try {
        for (let n; (n = await client.read(buf)) !== null;) {
          await upstream.write(buf.subarray(0, n));
        }
      } catch {
        // the connection was ended
      }
      end(upstream);
    })();
    const down = (async () => {
      const buf = new Uint8Array(64 * 1024);
      try {
        for (let n; (n = await upstream.read(buf)) !== null;) {
          const chunk = buf.subarray(0, n);
          await client.write(chunk);
          if (drop && hasReady(chunk)) {
            drops++;
            break;
          }
        }
      } catch {
        // the connection was ended
      }
      end(client);
      end(upstream);
    })();
    pipes.push(up, down);
  };
  const accepting = (async () => {
    try {
      for await (const client of listener) pipes.push(serve(client, connections++ === 0));
    } catch {
      // listener closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    drops: () => drops,
    async close() {
      listener.close();
      for (const c of [...open]) end(c);
      await accepting;
      await Promise.allSettled(pipes);
    },
  };
}
