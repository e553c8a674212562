/**
 * JPEG → packed RGB with libjpeg-turbo's TurboJPEG library (`libturbojpeg.so.0`, Debian package
 * `libturbojpeg0`) through Deno FFI, decoding at 1/2, 1/4 or 1/8 scale in the DCT when the
 * picture is wanted smaller. It is the fast path of `preprocess.ts` (about a fifth of sharp's time
 * for a 1080p frame to a 640 model input); anything it does not take — no library, CMYK, a
 * warning or error in the data, a huge image — is left to sharp, which decodes or names the error.
 */
import { errorMessage, logger } from "../core/mod.ts";

const log = logger("jpeg");

/** `auto`: the system's libturbojpeg.so.0 when present; `off`: sharp only; else a library path. */
export type TurboJpegChoice = "auto" | "off" | string;

const TJPF_RGB = 0;
const TJPF_RGBX = 2;
const TJCS_CMYK = 3;
const TJCS_YCCK = 4;
const TJFLAG_STOPONWARNING = 8192;
const TJFLAG_LIMITSCANS = 32768;
/** sharp's default pixel limit, so both decoders refuse the same images. */
const MAX_PIXELS = 0x3fff * 0x3fff;
const SPARE = 4;

const SYMBOLS = {
  tjInitDecompress: { parameters: [], result: "pointer" },
  tjDestroy: { parameters: ["pointer"], result: "i32" },
  tjDecompressHeader3: {
    parameters: ["pointer", "buffer", "u64", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  tjDecompress2: {
    parameters: ["pointer", "buffer", "u64", "buffer", "i32", "i32", "i32", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
} as const;

type Library = Deno.DynamicLibrary<typeof SYMBOLS>;

let choice: TurboJpegChoice = "auto";
let lib: Library | null | undefined;
const handles: Deno.PointerValue[] = [];
const pixels = new Map<number, Uint8Array[]>();

/** Which library decodes JPEGs for the models (`DETECTOR_TURBOJPEG`); set once at start. */
export function setTurboJpeg(value: TurboJpegChoice): void {
  if (lib) lib.close();
  choice = value;
  lib = undefined;
  handles.length = 0;
}

function library(): Library | null {
  if (lib !== undefined) return lib;
  lib = null;
  if (choice === "off") return lib;
  const path = choice === "auto" ? "libturbojpeg.so.0" : choice;
  try {
    lib = Deno.dlopen(path, SYMBOLS);
    log.info("JPEG frames for models are decoded by libturbojpeg", { library: path });
  } catch (err) {
    const hint = "sharp decodes them instead (install libturbojpeg0 for the faster path)";
    if (choice === "auto") log.info(`libturbojpeg not found: ${hint}`);
    else log.warn(`cannot load ${path}: ${hint}`, { error: errorMessage(err) });
  }
  return lib;
}

/** Whether JPEGs are decoded by libturbojpeg (loading it on first use). */
export function turboJpegActive(): boolean {
  return library() !== null;
}

/** The DCT scale (1, 2, 4 or 8) that keeps at least `minW`×`minH` of a `width`×`height` JPEG. */
export function decodeScale(width: number, height: number, minW: number, minH: number): number {
  for (const d of [8, 4, 2]) {
    if (Math.ceil(width / d) >= minW && Math.ceil(height / d) >= minH) return d;
  }
  return 1;
}

/** Packed RGB (3 bytes a pixel), or RGBX (4: one aligned 32-bit read per pixel, X unset). */
export type PixelFormat = "rgb" | "rgbx";

export interface DecodedPixels {
  /** Packed pixels in the format asked for. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Hands the pixel buffer back for the next decode (`data` must not be used after); else it is the caller's. */
  release(): void;
}

/**
 * Decodes `jpeg` at the smallest DCT scale that keeps at least `minW`×`minH` pixels, or returns
 * undefined when libturbojpeg is absent or does not take this image (sharp then decides).
 */
export async function turboDecode(
  jpeg: Uint8Array,
  minW: number,
  minH: number,
  format: PixelFormat = "rgb",
): Promise<DecodedPixels | undefined> {
  const tj = library();
  if (!tj) return undefined;
  const handle = handles.pop() ?? tj.symbols.tjInitDecompress();
  if (handle === null) return undefined;
  const size = BigInt(jpeg.length);
  let buf: Uint8Array | undefined;
  let ok = false;
  try {
    const head = new Int32Array(4);
    ok = tj.symbols.tjDecompressHeader3(
      handle,
      jpeg,
      size,
      head.subarray(0, 1),
      head.subarray(1, 2),
      head.subarray(2, 3),
      head.subarray(3, 4),
    ) === 0;
    const [w, h, , colourspace] = head;
    if (
      !ok || !w || !h || w * h > MAX_PIXELS || colourspace === TJCS_CMYK ||
      colourspace === TJCS_YCCK
    ) {
      return undefined;
    }
    const d = decodeScale(w, h, minW, minH);
    const width = Math.ceil(w / d);
    const height = Math.ceil(h / d);
    const bytes = width * height * (format === "rgbx" ? 4 : 3);
    buf = pixels.get(bytes)?.pop() ?? new Uint8Array(bytes);
    const flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;
    const rc = await tj.symbols.tjDecompress2(
      handle,
      jpeg,
      size,
      buf,
      width,
      0,
      height,
      format === "rgbx" ? TJPF_RGBX : TJPF_RGB,
      flags,
    );
    ok = rc === 0;
    if (!ok) return undefined;
    const data = buf;
    buf = undefined;
    return { data, width, height, release: () => spare(data) };
  } finally {
    if (buf) spare(buf);
    if (ok && handles.length < SPARE) handles.push(handle);
    else tj.symbols.tjDestroy(handle);
  }
}

/** Keeps a few pixel buffers of the last few sizes: a fresh one costs page faults every frame. */
function spare(buf: Uint8Array): void {
  if (!pixels.has(buf.length) && pixels.size >= SPARE) {
    pixels.delete(pixels.keys().next().value!);
  }
  const list = pixels.get(buf.length) ?? [];
  if (list.length < SPARE) list.push(buf);
  pixels.set(buf.length, list);
}
