/**
 * TLS in front of a plain loopback server, for the `…s://` variants of camera protocols (rtsps,
 * rtmps, https): a throwaway CA and a certificate for 127.0.0.1 made by openssl, and a proxy that
 * terminates TLS and passes the bytes on to the plain port. Processes that must trust the
 * certificate get `DENO_CERT=<ca>` (ffmpeg does not verify by default).
 */

export interface TestCertificate {
  /** PEM of the CA that signed `cert` (what a client trusts). */
  caFile: string;
  cert: string;
  key: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A CA and a server certificate for 127.0.0.1, written into `dir`. */
export async function makeTestCertificate(dir: string): Promise<TestCertificate> {
  const subj = (cn: string) => ["-subj", `/CN=${cn}`];
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    ...subj("detector test CA"),
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  ], dir);
  await openssl(
    [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      ...subj("127.0.0.1"),
      "-keyout",
      "key.pem",
      "-out",
      "csr.pem",
    ],
    dir,
  );
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    "csr.pem",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
    "-out",
    "cert.pem",
  ], dir);
  return {
    caFile: `${dir}/ca.pem`,
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
  };
}

export interface TlsProxy {
  port: number;
  stop(): void;
}

/** Accepts TLS on a free loopback port and relays each connection to `targetPort` in clear. */
export function startTlsProxy(targetPort: number, cert: TestCertificate): TlsProxy {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: cert.cert,
    key: cert.key,
  });
  const conns = new Set<Deno.Conn>();
  const relay = async (client: Deno.TlsConn) => {
    conns.add(client);
    let upstream: Deno.Conn | undefined;
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      conns.add(upstream);
      await Promise.allSettled([
        client.readable.pipeTo(upstream.writable),
        upstream.readable.pipeTo(client.writable),
      ]);
    } catch {
      // either side went away
    } finally {
      for (const c of [client, upstream]) {
        if (!c) continue;
        conns.delete(c);
        try {
          c.close();
        } catch { /* closed */ }
      }
    }
  };
  (async () => {
    try {
      for await (const conn of listener) relay(conn);
    } catch { /* listener closed */ }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    stop() {
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}
