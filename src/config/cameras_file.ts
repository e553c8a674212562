/**
 * `serve --config cameras.yaml`: YAML (so JSON too) with a top-level `cameras:` map from camera
 * name to a source spec, or to `{source: SPEC, password-env: VAR}` / `{source, password-file}`
 * so that credentials need not be written inline, with optional `fps` and `size`; every other top-level key is a serve setting
 * named like its flag (`port`, `target-fps`, `push-secret`, `prusa-token`). Errors name the file,
 * the line and the key.
 */
import { isMap, isScalar, LineCounter, parseDocument, type Scalar, type YAMLMap } from "yaml";
import { ConfigError, type ConfigFile } from "./resolve.ts";
import { withFrameOptions } from "../sources/mod.ts";

export interface CameraEntry {
  name: string;
  spec: string;
  line: number;
}

export interface CamerasFile {
  /** The settings part, for `resolveSettings`. */
  settings: ConfigFile;
  cameras: CameraEntry[];
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const CAMERA_KEYS = ["source", "password-env", "password-file", "fps", "size"];

type Env = (name: string) => string | undefined;

/** Puts a password into the user part of a source URL (`rtsp://user@cam/…`). */
function withPassword(spec: string, password: string, where: string): string {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new ConfigError(
      `${where}: a password needs a URL source with a user (rtsp://user@cam/…)`,
    );
  }
  if (!url.username) {
    throw new ConfigError(
      `${where}: a password needs a user in the source URL (rtsp://user@cam/…)`,
    );
  }
  url.password = password;
  return url.href;
}

/** The entry's `fps` and `size` keys as options of its source spec. */
function frameOptions(name: string, spec: string, o: Record<string, unknown>, where: string) {
  const fps = o.fps;
  if (fps !== undefined && (typeof fps !== "number" || !(fps > 0 && fps <= 240))) {
    throw new ConfigError(`${where}: camera "${name}": "fps" expects a number above 0, up to 240`);
  }
  const size = o.size;
  if (size !== undefined && (typeof size !== "string" || !/^\d{2,5}x\d{2,5}$/.test(size))) {
    throw new ConfigError(`${where}: camera "${name}": "size" expects WIDTHxHEIGHT, e.g. 640x360`);
  }
  try {
    return withFrameOptions(spec, { fps, size });
  } catch (err) {
    throw new ConfigError(`${where}: camera "${name}": ${(err as Error).message}`);
  }
}

async function cameraSpec(
  name: string,
  value: unknown,
  where: string,
  env: Env,
): Promise<string> {
  if (typeof value === "string" && value.trim() !== "") return value.trim();
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${where}: camera "${name}" needs a source spec or {source: SPEC}`);
  }
  const o = value as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !CAMERA_KEYS.includes(k));
  if (unknown.length) {
    throw new ConfigError(
      `${where}: camera "${name}" has unknown key "${unknown[0]}" (known: ${
        CAMERA_KEYS.join(", ")
      })`,
    );
  }
  if (typeof o.source !== "string" || o.source.trim() === "") {
    throw new ConfigError(`${where}: camera "${name}" needs "source"`);
  }
  const spec = frameOptions(name, o.source.trim(), o, where);
  if (o["password-env"] !== undefined) {
    const variable = String(o["password-env"]);
    const password = env(variable);
    if (password === undefined || password === "") {
      throw new ConfigError(
        `${where}: camera "${name}": environment variable ${variable} (password-env) is not set`,
      );
    }
    return withPassword(spec, password, `${where}: camera "${name}"`);
  }
  if (o["password-file"] !== undefined) {
    const path = String(o["password-file"]);
    let password: string;
    try {
      password = (await Deno.readTextFile(path)).replace(/\r?\n$/, "");
    } catch (err) {
      throw new ConfigError(
        `${where}: camera "${name}": cannot read password-file ${path}: ${(err as Error).message}`,
      );
    }
    return withPassword(spec, password, `${where}: camera "${name}"`);
  }
  return spec;
}

function lineOf(node: { range?: [number, number, number] | null }, lc: LineCounter): number {
  return node.range ? lc.linePos(node.range[0]).line : 0;
}

/** Parses the text of a cameras file; `path` is only shown in errors. */
export async function parseCamerasFile(text: string, path: string, env: Env): Promise<CamerasFile> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const pos = lc.linePos(e.pos[0]);
    throw new ConfigError(`${path}:${pos.line}:${pos.col}: ${e.message.split("\n")[0]}`);
  }
  if (doc.contents === null) return { settings: { name: path, values: {} }, cameras: [] };
  if (!isMap(doc.contents)) throw new ConfigError(`${path}: must hold a map of settings`);
  let js: Record<string, unknown>;
  try {
    js = doc.toJS() as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message}`); // e.g. too many aliases
  }
  const values: Record<string, unknown> = {};
  const lines: Record<string, number> = {};
  let cameras: CameraEntry[] = [];
  for (const pair of (doc.contents as YAMLMap).items) {
    const key = isScalar(pair.key) ? String((pair.key as Scalar).value) : String(pair.key);
    const line = lineOf(pair.key as Scalar, lc);
    if (key === "cameras") {
      cameras = await camerasOf(pair.value, js.cameras, path, line, lc, env);
      continue;
    }
    values[key] = js[key];
    lines[key] = line;
  }
  return { settings: { name: path, values, lines, flagKeys: true }, cameras };
}

async function camerasOf(
  node: unknown,
  plain: unknown,
  path: string,
  line: number,
  lc: LineCounter,
  env: Env,
): Promise<CameraEntry[]> {
  if (node === null || (isScalar(node) && (node as Scalar).value === null)) return [];
  if (!isMap(node)) throw new ConfigError(`${path}:${line}: "cameras" must map names to sources`);
  const out: CameraEntry[] = [];
  for (const pair of (node as YAMLMap).items) {
    const name = isScalar(pair.key) ? String((pair.key as Scalar).value) : "";
    const at = lineOf(pair.key as Scalar, lc);
    const where = `${path}:${at}: "cameras.${name}"`;
    if (!NAME.test(name)) {
      throw new ConfigError(
        `${where}: camera names are 1-64 letters, digits, "_", "." or "-"`,
      );
    }
    const value = (plain as Record<string, unknown>)[name];
    out.push({ name, spec: await cameraSpec(name, value, where, env), line: at });
  }
  return out;
}

export async function readCamerasFile(path: string, env: Env): Promise<CamerasFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new ConfigError(`--config ${path}: ${(err as Error).message}`);
  }
  return await parseCamerasFile(text, path, env);
}
