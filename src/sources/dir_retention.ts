import { resolve } from "node:path";

const jpegName = /\.jpe?g$/i;

/** True for the file names a watched folder serves: `.jpg` / `.jpeg`, any case. */
export function isJpegFileName(name: string): boolean {
  return jpegName.test(name);
}

export interface Deletion {
  deleted: number;
  failed: number;
  firstError?: string;
}

/**
 * Deletes the JPEG files of `dir` last modified before `cutoffMs` (epoch ms); other files are
 * never touched. A file that cannot be deleted is counted and the sweep goes on.
 */
export async function deleteFilesOlderThan(
  dir: string,
  cutoffMs: number,
  signal?: AbortSignal,
): Promise<Deletion> {
  const result: Deletion = { deleted: 0, failed: 0 };
  for await (const entry of Deno.readDir(dir)) {
    if (signal?.aborted) break;
    if (!entry.isFile || !isJpegFileName(entry.name)) continue;
    const path = resolve(dir, entry.name);
    try {
      const info = await Deno.stat(path);
      if ((info.mtime?.getTime() ?? Infinity) >= cutoffMs) continue;
      await Deno.remove(path);
      result.deleted++;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      result.failed++;
      result.firstError ??= `${entry.name}: ${err instanceof Error ? err.message : err}`;
    }
  }
  return result;
}
