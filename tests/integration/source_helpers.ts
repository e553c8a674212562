/** Small readers of a running `serve` shared by the source integration tests. */

export interface CameraView {
  name: string;
  state: string;
  lastError: string | null;
  seq: number;
  width: number | null;
  height: number | null;
  detail: Record<string, unknown>;
}

export async function camera(baseUrl: string, name: string): Promise<CameraView> {
  const res = await fetch(`${baseUrl}/cameras`);
  const list = await res.json() as CameraView[];
  const cam = list.find((c) => c.name === name);
  if (!cam) throw new Error(`camera ${name} not in /cameras: ${JSON.stringify(list)}`);
  return cam;
}

/** The JPEG bytes of /cameras/NAME/snapshot.jpg, or undefined while it answers 503. */
export async function snapshot(baseUrl: string, name: string): Promise<Uint8Array | undefined> {
  const res = await fetch(`${baseUrl}/cameras/${name}/snapshot.jpg`);
  const body = new Uint8Array(await res.arrayBuffer());
  if (res.status === 503) return undefined;
  if (res.status !== 200) throw new Error(`snapshot answered ${res.status}`);
  return body;
}

/** Sum of a Prometheus counter over every series whose labels include `camera="NAME"`. */
export async function metricSum(baseUrl: string, metric: string, cameraName: string) {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`) || !line.includes(`camera="${cameraName}"`)) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** Resolves like `promise`, or rejects naming `what` after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
