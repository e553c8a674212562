/** The result of reading `{"image": "<base64>"}`: the decoded bytes or what was wrong. */
export type DecodedJson =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; reason: "bad_json" | "no_image_field" | "bad_base64"; message: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URL = /^data:[\w.+-]+\/[\w.+-]+;base64,/;

/** Decodes standard base64 (whitespace and a `data:image/…;base64,` prefix allowed). */
export function decodeBase64(text: string): Uint8Array | undefined {
  const clean = text.replace(DATA_URL, "").replace(/\s+/g, "");
  if (clean.length === 0 || clean.length % 4 === 1 || !BASE64.test(clean)) return undefined;
  const padded = clean.padEnd(Math.ceil(clean.length / 4) * 4, "=");
  try {
    return Uint8Array.fromBase64(padded);
  } catch {
    return undefined;
  }
}

/** Parses the JSON body of the screenshot API and MQTT, naming the field that is missing or bad. */
export function decodeJsonImage(text: string): DecodedJson {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      reason: "bad_json",
      message: `body is not valid JSON: ${err instanceof Error ? err.message : err}`,
    };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, reason: "bad_json", message: 'JSON body must be an object {"image": …}' };
  }
  const image = (body as Record<string, unknown>).image;
  if (image === undefined) {
    return { ok: false, reason: "no_image_field", message: 'JSON has no "image" field' };
  }
  if (typeof image !== "string") {
    return { ok: false, reason: "no_image_field", message: '"image" must be a base64 string' };
  }
  const bytes = decodeBase64(image);
  if (!bytes) return { ok: false, reason: "bad_base64", message: '"image" is not valid base64' };
  return { ok: true, bytes };
}
