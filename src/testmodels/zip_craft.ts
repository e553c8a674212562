/**
 * Hand-made ZIP files for tests of the archive reader: any entry name (including unsafe ones),
 * declared sizes that lie, and a cheap deflate stream of zeros that inflates to gigabytes.
 */
import { deflateSync } from "fflate";
import { crc32 } from "../mpta/mod.ts";

export interface CraftEntry {
  name: string;
  /** Stored as-is when `compressed` is given; otherwise deflated from `data` (or stored). */
  data?: Uint8Array;
  /** Raw compressed bytes (method 8), e.g. from `zeroDeflate`. */
  compressed?: Uint8Array;
  /** Uncompressed size written in the headers (default: the true size). */
  declaredSize?: number;
  crc?: number;
  method?: 0 | 8;
}

/** A raw deflate stream (fixed Huffman) that inflates to `size` zero bytes, ~13 bits per 258. */
export function zeroDeflate(size: number): Uint8Array {
  const matches = Math.floor((size - 1) / 258);
  const literals = size - 1 - matches * 258;
  const out = new Uint8Array(Math.ceil((3 + 8 + matches * 13 + literals * 8 + 7) / 8) + 1);
  let byte = 0;
  let bit = 0;
  let pos = 0;
  const put = (value: number, n: number) => {
    for (let i = 0; i < n; i++) {
      if ((value >> i) & 1) byte |= 1 << bit;
      if (++bit === 8) {
        out[pos++] = byte;
        byte = 0;
        bit = 0;
      }
    }
  };
  // Huffman codes go most-significant bit first: reverse them into the LSB-first stream
  const code = (value: number, n: number) => {
    let r = 0;
    for (let i = 0; i < n; i++) r |= ((value >> i) & 1) << (n - 1 - i);
    put(r, n);
  };
  put(1, 1); // BFINAL
  put(1, 2); // BTYPE = fixed Huffman
  code(0x30, 8); // literal 0
  for (let i = 0; i < matches; i++) {
    code(0xc5, 8); // length code 285 = 258 bytes
    code(0, 5); // distance code 0 = distance 1
  }
  for (let i = 0; i < literals; i++) code(0x30, 8);
  code(0, 7); // end of block
  if (bit) out[pos++] = byte;
  return out.subarray(0, pos);
}

/** A ZIP file with exactly these entries and headers (no validation). */
export function craftZip(entries: CraftEntry[]): Uint8Array {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const data = e.data ?? new Uint8Array(0);
    let method: number;
    let payload: Uint8Array;
    if (e.compressed) {
      method = 8;
      payload = e.compressed;
    } else if ((e.method ?? 8) === 8 && data.length) {
      method = 8;
      payload = deflateSync(data);
    } else {
      method = 0;
      payload = data;
    }
    const size = e.declaredSize ?? data.length;
    const crc = e.crc ?? crc32(data);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, payload.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, payload.length, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local, payload);
    centrals.push(central);
    offset += local.length + payload.length;
  }
  const cdSize = centrals.reduce((n, c) => n + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, Math.min(entries.length, 0xffff), true);
  ev.setUint16(10, Math.min(entries.length, 0xffff), true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const parts = [...locals, ...centrals, eocd];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
