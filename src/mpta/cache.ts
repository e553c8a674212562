/**
 * Extracted archives on disk, one folder per model id and content hash:
 * `<cacheDir>/<modelId>/<hash[0:16]>/` holding `pipeline.json` and the model files.
 * Writes go to a temporary folder renamed into place, so a reader never sees half an archive.
 */
import { logger } from "../core/mod.ts";
import type { PipelineArchive } from "./types.ts";

const log = logger("mpta");

export interface ExtractOptions {
  /** Root of the cache. */
  cacheDir: string;
  /** Folder key; default the root node's `modelId` (the worker passes the CMS model id). */
  modelId?: string | number;
  /** Versions (hash folders) kept per model id, newest first; default 3. */
  keep?: number;
}

/** A model id made safe as one folder name. */
export function cacheKey(modelId: string | number): string {
  const key = String(modelId).replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_");
  return key.slice(0, 100) || "_";
}

/** Folder of one archive version in the cache. */
export function cachedArchiveDir(cacheDir: string, modelId: string | number, hash: string): string {
  return `${cacheDir}/${cacheKey(modelId)}/${hash.slice(0, 16)}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function prune(modelDir: string, keepDir: string, keep: number): Promise<void> {
  const versions: { path: string; mtime: number }[] = [];
  for await (const e of Deno.readDir(modelDir)) {
    if (!e.isDirectory || e.name.startsWith(".tmp-")) continue;
    const path = `${modelDir}/${e.name}`;
    const st = await Deno.stat(path);
    versions.push({ path, mtime: st.mtime?.getTime() ?? 0 });
  }
  versions.sort((a, b) => b.mtime - a.mtime);
  for (const v of versions.slice(keep)) {
    if (v.path === keepDir) continue;
    await Deno.remove(v.path, { recursive: true }).catch(() => {});
    log.debug("removed old cached archive", { dir: v.path });
  }
}

/** Extracts the archive (once per hash) and sets `archive.dir`; returns the folder. */
export async function extractArchive(
  archive: PipelineArchive,
  opts: ExtractOptions,
): Promise<string> {
  const cacheDir = opts.cacheDir;
  const modelId = opts.modelId ?? archive.spec.pipeline.modelId;
  const dir = cachedArchiveDir(cacheDir, modelId, archive.hash);
  const modelDir = dir.slice(0, dir.lastIndexOf("/"));
  if (await exists(`${dir}/pipeline.json`)) {
    archive.dir = dir;
    await Deno.utime(dir, new Date(), new Date()).catch(() => {});
    return dir;
  }
  await Deno.mkdir(modelDir, { recursive: true });
  const tmp = `${modelDir}/.tmp-${crypto.randomUUID()}`;
  try {
    for (const path of archive.paths ?? []) {
      const data = archive.file(path);
      if (!data) continue;
      const slash = path.lastIndexOf("/");
      if (slash > 0) await Deno.mkdir(`${tmp}/${path.slice(0, slash)}`, { recursive: true });
      else await Deno.mkdir(tmp, { recursive: true });
      await Deno.writeFile(`${tmp}/${path}`, data);
    }
    await Deno.mkdir(tmp, { recursive: true });
    try {
      await Deno.rename(tmp, dir);
    } catch (err) {
      if (!(await exists(`${dir}/pipeline.json`))) throw err; // else another process won the race
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
  archive.dir = dir;
  log.info("extracted pipeline archive", { dir, modelId: String(modelId) });
  await prune(modelDir, dir, opts.keep ?? 3);
  return dir;
}
