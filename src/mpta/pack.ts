/** Writing archives: deterministic ZIP output (fixed order and times), and `pack DIR`. */
import { type Zippable, zipSync } from "fflate";

/**
 * ZIP bytes of the files (path → bytes), sorted by path, every mtime 1980-01-01 00:00 local DOS
 * time, deflate level 9. Same input, same bytes, on every machine.
 */
export function zipDeterministic(files: Record<string, Uint8Array>): Uint8Array {
  const mtime = new Date(1980, 0, 1, 0, 0, 0);
  const entries: Zippable = {};
  for (const path of Object.keys(files).sort()) {
    entries[path] = [files[path], { mtime, level: 9 }];
  }
  return zipSync(entries);
}

/** Reads every regular file below `dir` (paths relative, `/`-separated), skipping dot-files. */
export async function readTree(dir: string): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
      if (e.name.startsWith(".")) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(path);
      else if (e.isFile) files[path] = await Deno.readFile(`${dir}/${path}`);
    }
  };
  await walk("");
  return files;
}

/**
 * Packs a folder holding `pipeline.json` and its models into archive bytes. `pipeline.json` may
 * also sit in one subfolder (an archive unzipped as is): the tree is packed as it is, the layout
 * the archive reader accepts.
 */
export async function packDirectory(dir: string): Promise<Uint8Array> {
  const files = await readTree(dir);
  if (!files["pipeline.json"]) {
    const nested = Object.keys(files).filter((p) => /^[^/]+\/pipeline\.json$/.test(p));
    if (nested.length > 1) {
      throw new Error(
        `${dir}: pipeline.json in several subfolders (${nested.join(", ")}); keep one`,
      );
    }
    if (nested.length === 0) {
      throw new Error(`${dir}: no pipeline.json at the top of the folder or one level down`);
    }
  }
  return zipDeterministic(files);
}
