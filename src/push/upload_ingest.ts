import { logger } from "../core/mod.ts";
import { json, jsonError } from "../http/mod.ts";
import { decodeBase64, decodeJsonImage } from "./base64_image.ts";
import { BodyTooLargeError, readBodyLimited } from "./body_limit.ts";
import { type BodyBudget, BodyBudgetError } from "./body_budget.ts";
import { normalizeImage } from "./image_normalize.ts";
import type { LogThrottle } from "../core/mod.ts";
import type { PushSink } from "./push_sink.ts";
import { bearerToken, secretsEqual } from "../auth/mod.ts";

export interface UploadOptions {
  sink: PushSink;
  /** When set, uploads need `Authorization: Bearer <token>`. */
  token?: string;
  /** Limits the "upload refused" lines (per reason and client). */
  throttle: LogThrottle;
  /** Memory for bodies being received, shared with the other push paths. */
  budget: BodyBudget;
}

/** How the camera of an upload is named: by the path, or by a form field (`/update-image`). */
export type CameraFrom = { path: string } | { field: string };

class UploadError extends Error {
  constructor(readonly status: number, readonly reason: string, message: string) {
    super(message);
  }
}

const log = logger("upload");
/** Room for multipart headers and JSON framing around the image bytes. */
const ENVELOPE_BYTES = 64 * 1024;
const ACCEPTED = 'send application/json {"image": "<base64>"}, a raw image/jpeg or image/png ' +
  'body, or multipart/form-data with the file in field "image"';

function mediaType(req: Request): string {
  return (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

function bearerOk(req: Request, token: string): boolean {
  const given = bearerToken(req);
  return given !== undefined && secretsEqual(given, token);
}

async function body(
  req: Request,
  limit: number,
  address: string,
  budget: BodyBudget,
): Promise<Uint8Array> {
  try {
    return await readBodyLimited(req, limit, address, budget);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new UploadError(413, "too_big", err.message);
    if (err instanceof BodyBudgetError) {
      throw err.scope === "global"
        ? new UploadError(503, "busy", err.message)
        : new UploadError(429, "address_busy", err.message);
    }
    throw new UploadError(400, "body_read_failed", "request body could not be read");
  }
}

async function formOf(req: Request, bytes: Uint8Array): Promise<FormData> {
  try {
    return await new Response(bytes as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": req.headers.get("content-type")! },
    }).formData();
  } catch {
    throw new UploadError(400, "bad_multipart", "multipart/form-data body could not be parsed");
  }
}

async function imageFromField(form: FormData): Promise<Uint8Array> {
  const field = form.get("image");
  if (field === null) {
    throw new UploadError(400, "no_image_field", 'form field "image" is missing');
  }
  if (typeof field === "string") {
    const bytes = decodeBase64(field);
    if (!bytes) {
      throw new UploadError(400, "bad_base64", 'form field "image" is text but not base64');
    }
    return bytes;
  }
  return new Uint8Array(await field.arrayBuffer());
}

/** The image bytes and, for forms, the fields, from any accepted request shape. */
async function readUpload(
  req: Request,
  maxBytes: number,
  address: string,
  budget: BodyBudget,
): Promise<{ bytes: Uint8Array; form?: FormData }> {
  const type = mediaType(req);
  if (type === "multipart/form-data") {
    const form = await formOf(req, await body(req, maxBytes + ENVELOPE_BYTES, address, budget));
    return { bytes: await imageFromField(form), form };
  }
  const jsonLimit = Math.ceil(maxBytes / 3) * 4 + ENVELOPE_BYTES;
  const isJson = type === "application/json" || type.endsWith("+json");
  const isRaw = type === "image/jpeg" || type === "image/jpg" || type === "image/png";
  if (!isJson && !isRaw && type !== "" && type !== "application/octet-stream") {
    throw new UploadError(
      415,
      "unsupported_type",
      `Content-Type "${type}" is not accepted: ${ACCEPTED}`,
    );
  }
  const bytes = await body(req, isRaw ? maxBytes : jsonLimit, address, budget);
  if (isJson || (!isRaw && bytes[0] === 0x7b)) {
    const decoded = decodeJsonImage(new TextDecoder().decode(bytes));
    if (!decoded.ok) throw new UploadError(400, decoded.reason, decoded.message);
    return { bytes: decoded.bytes };
  }
  if (bytes.byteLength === 0) throw new UploadError(400, "empty_body", "request body is empty");
  return { bytes };
}

/** Handles one upload: auth, size and type checks, PNG → JPEG, then into the cache. */
export async function handleUpload(
  req: Request,
  from: CameraFrom,
  opts: UploadOptions,
  { remote, address }: { remote: string; address: string },
): Promise<Response> {
  const sink = opts.sink;
  let camera = "path" in from ? from.path : undefined;
  try {
    if (opts.token !== undefined && !bearerOk(req, opts.token)) {
      await req.body?.cancel().catch(() => {});
      throw new UploadError(401, "unauthorized", "missing or wrong Authorization: Bearer token");
    }
    if (camera !== undefined) checkCamera(sink, camera);
    const { bytes, form } = await readUpload(req, sink.maxFrameBytes, address, opts.budget);
    if (camera === undefined) {
      const field = (from as { field: string }).field;
      const value = form?.get(field);
      if (typeof value !== "string" || value === "") {
        throw new UploadError(400, "no_camera_field", `form field "${field}" is missing`);
      }
      camera = value;
      checkCamera(sink, camera);
    }
    const image = await normalizeImage(bytes, sink.maxFrameBytes);
    if (!image.ok) {
      throw new UploadError(image.reason === "too_big" ? 413 : 400, image.reason, image.message);
    }
    const frame = sink.put(camera, image.jpeg, "http", image);
    return json({
      camera,
      seq: frame.seq,
      bytes: image.jpeg.byteLength,
      width: image.width,
      height: image.height,
      converted: image.converted,
    });
  } catch (err) {
    if (!(err instanceof UploadError)) throw err;
    opts.sink.countRejected("http", err.reason);
    const suppressed = opts.throttle.pass(`${err.reason}:${remote}`);
    if (suppressed !== undefined) {
      log.warn("upload refused", {
        remote,
        camera,
        status: err.status,
        error: err.message,
        suppressed: suppressed || undefined,
      });
    }
    const headers: HeadersInit = err.status === 401
      ? { "www-authenticate": 'Bearer realm="detector upload"' }
      : {};
    return jsonError(err.status, err.message, { reason: err.reason }, headers);
  }
}

function checkCamera(sink: PushSink, camera: string): void {
  const refusal = sink.refusal(camera);
  if (!refusal) return;
  const status = refusal.reason === "pulled_camera"
    ? 409
    : refusal.reason === "too_many_cameras"
    ? 429
    : 400;
  throw new UploadError(status, refusal.reason, refusal.message);
}
