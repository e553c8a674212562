/**
 * Reads ZIP archives defensively: the central directory is parsed and checked against the limits
 * (entry count, per-entry and total uncompressed size, unsafe names) before anything is inflated,
 * and inflating stops as soon as an entry produces more bytes than it declared.
 */
import { Inflate } from "fflate";
import { crc32 } from "./crc32.ts";
import type { ArchiveLimits } from "./limits.ts";

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  isDirectory: boolean;
}

/** A problem with the archive as a ZIP file; `path` names the entry when there is one. */
export class ZipError extends Error {
  constructor(message: string, readonly entry?: string) {
    super(message);
  }
}

const EOCD_SIG = 0x06054b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;

const mib = (n: number) =>
  n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(n % 1024 ** 2 ? 1 : 0)} MiB` : `${n} bytes`;

/** Why a name is unsafe to extract, or undefined when it is fine. */
export function unsafeEntryName(name: string): string | undefined {
  if (name === "") return "empty name";
  if (name.includes("\\")) return "backslash in name";
  if (name.startsWith("/")) return "absolute path";
  if (/^[A-Za-z]:/.test(name)) return "drive letter";
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f]/.test(name)) return "control character in name";
  if (name.split("/").some((seg) => seg === "..")) return 'path goes up with ".."';
  return undefined;
}

function findEocd(view: DataView): number {
  const min = Math.max(0, view.byteLength - 22 - 0xffff);
  for (let i = view.byteLength - 22; i >= min; i--) {
    if (view.getUint32(i, true) === EOCD_SIG) return i;
  }
  return -1;
}

/**
 * Lists the entries from the central directory and enforces `limits` (count, sizes, names).
 * Throws `ZipError` naming the limit or the entry.
 */
export function readCentralDirectory(bytes: Uint8Array, limits: ArchiveLimits): ZipEntry[] {
  if (bytes.length > limits.maxArchiveBytes) {
    throw new ZipError(
      `archive is ${mib(bytes.length)}, more than the limit of ${mib(limits.maxArchiveBytes)}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (
    bytes.length < 22 || (bytes.length >= 4 && view.getUint32(0, true) !== LFH_SIG &&
      view.getUint32(0, true) !== EOCD_SIG)
  ) {
    throw new ZipError("not a ZIP archive (no local file header at the start)");
  }
  const eocd = findEocd(view);
  if (eocd < 0) throw new ZipError("not a ZIP archive (no end-of-central-directory record)");
  const count = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) {
    throw new ZipError("ZIP64 archives are not supported");
  }
  if (count > limits.maxEntries) {
    throw new ZipError(`archive has ${count} entries, more than the limit of ${limits.maxEntries}`);
  }
  if (cdOffset + cdSize > eocd) throw new ZipError("central directory lies outside the archive");
  const entries: ZipEntry[] = [];
  const seen = new Set<string>();
  let total = 0;
  let p = cdOffset;
  const decoder = new TextDecoder("utf-8", { fatal: false });
  for (let i = 0; i < count; i++) {
    if (p + 46 > eocd || view.getUint32(p, true) !== CDH_SIG) {
      throw new ZipError(`central directory entry ${i} is corrupt`);
    }
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    const compressedSize = view.getUint32(p + 20, true);
    const size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const localOffset = view.getUint32(p + 42, true);
    if (p + 46 + nameLen > eocd) throw new ZipError(`central directory entry ${i} is corrupt`);
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
    const unsafe = unsafeEntryName(name);
    if (unsafe) throw new ZipError(`unsafe entry name ${JSON.stringify(name)}: ${unsafe}`, name);
    if (seen.has(name)) throw new ZipError(`entry ${JSON.stringify(name)} appears twice`, name);
    seen.add(name);
    const isDirectory = name.endsWith("/");
    if (!isDirectory) {
      if (flags & 1) throw new ZipError(`entry "${name}" is encrypted`, name);
      if (method !== 0 && method !== 8) {
        throw new ZipError(
          `entry "${name}" uses compression method ${method}; only stored and deflate`,
          name,
        );
      }
      if (size === 0xffffffff || compressedSize === 0xffffffff) {
        throw new ZipError(`entry "${name}" is ZIP64; not supported`, name);
      }
      if (size > limits.maxEntryBytes) {
        throw new ZipError(
          `entry "${name}" is ${mib(size)} uncompressed, more than the limit of ${
            mib(limits.maxEntryBytes)
          }`,
          name,
        );
      }
      total += size;
      if (total > limits.maxTotalBytes) {
        throw new ZipError(
          `archive holds more than ${
            mib(limits.maxTotalBytes)
          } uncompressed (limit), reached at "${name}"`,
          name,
        );
      }
    }
    entries.push({
      name,
      method,
      flags,
      crc,
      compressedSize,
      size,
      localOffset,
      isDirectory,
    });
  }
  return entries;
}

const CHUNK = 16 * 1024;
/** Compressed bytes inflated between two yields to the event loop. */
const YIELD_EVERY = 1024 * 1024;

const yieldToLoop = () => new Promise<void>((r) => setTimeout(r, 0));

/** Inflates one entry; stops as soon as it grows past its declared size; checks the CRC. */
export function readEntry(bytes: Uint8Array, entry: ZipEntry): Uint8Array {
  const it = inflateSteps(bytes, entry);
  let r = it.next();
  while (!r.done) r = it.next();
  return r.value;
}

/** `readEntry` that lets the event loop run every megabyte, for large models. */
export async function readEntryAsync(bytes: Uint8Array, entry: ZipEntry): Promise<Uint8Array> {
  const it = inflateSteps(bytes, entry);
  let r = it.next();
  while (!r.done) {
    await yieldToLoop();
    r = it.next();
  }
  return r.value;
}

function* inflateSteps(bytes: Uint8Array, entry: ZipEntry): Generator<void, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = entry.localOffset;
  if (lo + 30 > bytes.length || view.getUint32(lo, true) !== LFH_SIG) {
    throw new ZipError(`entry "${entry.name}": local header missing`, entry.name);
  }
  const start = lo + 30 + view.getUint16(lo + 26, true) + view.getUint16(lo + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length) throw new ZipError(`entry "${entry.name}" is truncated`, entry.name);
  const data = bytes.subarray(start, end);
  let out: Uint8Array;
  let crc = 0;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) {
      throw new ZipError(`entry "${entry.name}": stored sizes disagree`, entry.name);
    }
    out = data.slice();
    crc = crc32(out);
  } else {
    out = new Uint8Array(entry.size);
    let filled = 0;
    let done = false;
    const inflater = new Inflate((chunk, final) => {
      if (filled + chunk.length > entry.size) {
        throw new ZipError(
          `entry "${entry.name}" inflates beyond its declared ${entry.size} bytes (zip bomb?)`,
          entry.name,
        );
      }
      out.set(chunk, filled);
      filled += chunk.length;
      crc = crc32(chunk, crc);
      if (final) done = true;
    });
    try {
      for (let o = 0; o < data.length; o += CHUNK) {
        inflater.push(data.subarray(o, Math.min(o + CHUNK, data.length)), o + CHUNK >= data.length);
        if (o % YIELD_EVERY === YIELD_EVERY - CHUNK) yield;
      }
      if (data.length === 0) inflater.push(new Uint8Array(0), true);
    } catch (err) {
      if (err instanceof ZipError) throw err;
      throw new ZipError(
        `entry "${entry.name}" is corrupt: ${err instanceof Error ? err.message : err}`,
        entry.name,
      );
    }
    if (!done || filled !== entry.size) {
      throw new ZipError(
        `entry "${entry.name}" inflated to ${filled} bytes, declared ${entry.size}`,
        entry.name,
      );
    }
  }
  if (crc !== entry.crc) {
    throw new ZipError(`entry "${entry.name}" fails its CRC check (corrupt)`, entry.name);
  }
  return out;
}
