/**
 * YOLOv8n-shaped ONNX graphs with seeded random weights, for benchmarks: the layer graph of
 * ultralytics' YOLOv8n (Conv+SiLU blocks with BatchNorm folded, C2f, SPPF, FPN/PAN neck, decoupled
 * Detect head with DFL decoding in the graph) and of YOLOv8n-cls. Same compute (8.7 GFLOPs at 640,
 * 0.4 at 224), same inputs, outputs and metadata as the exports; the detections are meaningless.
 */
import { GraphBuilder, pythonNamesLiteral, writeOnnxModel } from "./onnx_writer.ts";

export const COCO_NAMES = [
  "person",
  "bicycle",
  "car",
  "motorcycle",
  "airplane",
  "bus",
  "train",
  "truck",
  "boat",
  "traffic light",
  "fire hydrant",
  "stop sign",
  "parking meter",
  "bench",
  "bird",
  "cat",
  "dog",
  "horse",
  "sheep",
  "cow",
  "elephant",
  "bear",
  "zebra",
  "giraffe",
  "backpack",
  "umbrella",
  "handbag",
  "tie",
  "suitcase",
  "frisbee",
  "skis",
  "snowboard",
  "sports ball",
  "kite",
  "baseball bat",
  "baseball glove",
  "skateboard",
  "surfboard",
  "tennis racket",
  "bottle",
  "wine glass",
  "cup",
  "fork",
  "knife",
  "spoon",
  "bowl",
  "banana",
  "apple",
  "sandwich",
  "orange",
  "broccoli",
  "carrot",
  "hot dog",
  "pizza",
  "donut",
  "cake",
  "chair",
  "couch",
  "potted plant",
  "bed",
  "dining table",
  "toilet",
  "tv",
  "laptop",
  "mouse",
  "remote",
  "keyboard",
  "cell phone",
  "microwave",
  "oven",
  "toaster",
  "sink",
  "refrigerator",
  "book",
  "clock",
  "vase",
  "scissors",
  "teddy bear",
  "hair drier",
  "toothbrush",
];

/** Deterministic uniform [0, 1) generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A CHW activation of the calibration pass. */
interface Act {
  c: number;
  h: number;
  w: number;
  data: Float32Array;
}

/** The image the weights are calibrated on: NCHW RGB / 255 at the model's input size. */
export interface Calibration {
  size: number;
  data: Float32Array;
}

/**
 * The default calibration image, letterboxed street-like, RGB / 255: grey bars, a sky-to-road gradient and
 * seeded coloured rectangles with some noise.
 */
function calibrationImage(size: number, seed: number): Float32Array {
  const rand = random(seed);
  const data = new Float32Array(3 * size * size);
  const bar = Math.round(size * 0.22);
  const rects = Array.from({ length: 48 }, () => {
    const x = rand() * size, y = bar + rand() * (size - 2 * bar);
    return {
      x1: x,
      y1: y,
      x2: x + 2 + rand() * size / 4,
      y2: y + 2 + rand() * size / 5,
      rgb: [rand(), rand(), rand()],
    };
  });
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 114 / 255;
        if (y >= bar && y < size - bar) {
          v = 0.3 + 0.4 * (y - bar) / (size - 2 * bar) + 0.1 * c;
          for (const r of rects) {
            if (x >= r.x1 && x < r.x2 && y >= r.y1 && y < r.y2) v = r.rgb[c];
          }
          v = Math.min(1, Math.max(0, v + (rand() - 0.5) * 0.3));
        }
        data[(c * size + y) * size + x] = v;
      }
    }
  }
  return data;
}

function conv2d(a: Act, w: Float32Array, cout: number, k: number, stride: number): Act {
  const p = Math.floor(k / 2);
  const oh = Math.floor((a.h + 2 * p - k) / stride) + 1;
  const ow = Math.floor((a.w + 2 * p - k) / stride) + 1;
  const out = new Float32Array(cout * oh * ow);
  for (let o = 0; o < cout; o++) {
    const ob = o * oh * ow;
    for (let i = 0; i < a.c; i++) {
      const ib = i * a.h * a.w;
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const wv = w[((o * a.c + i) * k + ky) * k + kx];
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * stride + ky - p;
            if (iy < 0 || iy >= a.h) continue;
            const row = ib + iy * a.w;
            const orow = ob + oy * ow;
            for (let ox = 0; ox < ow; ox++) {
              const ix = ox * stride + kx - p;
              if (ix >= 0 && ix < a.w) out[orow + ox] += wv * a.data[row + ix];
            }
          }
        }
      }
    }
  }
  return { c: cout, h: oh, w: ow, data: out };
}

const silu = (v: number) => v / (1 + Math.exp(-v));

/**
 * Builds the layers and counts multiply-accumulates, and stands in for trained BatchNorm: every
 * conv also runs (in plain TypeScript) on a small calibration image, and its random weights and
 * bias are normalised per output channel so that its output before SiLU has mean ≈ 0 and variance
 * ≈ 1 on that image — BatchNorm calibration folded into the conv, as in an exported model. Without
 * it, random weights make activations vanish into float32 denormals or blow up within a few
 * layers, and either changes the speed and the decoding work.
 */
class Net {
  macs = 0;
  params = 0;
  readonly g = new GraphBuilder();
  #rand: () => number;
  #acts = new Map<string, Act>();

  constructor(seed: number) {
    this.#rand = random(seed);
  }

  input(name: string, size: number, calibration: Calibration | undefined, seed: number): string {
    const image = calibration ?? { size, data: calibrationImage(size, seed) };
    if (image.size !== size || image.data.length !== 3 * size * size) {
      throw new Error(`calibration image must be 3×${size}×${size}`);
    }
    this.#acts.set(name, { c: 3, h: size, w: size, data: image.data });
    return this.g.input(name, [1, 3, size, size]);
  }

  act(x: string): Act {
    const a = this.#acts.get(x);
    if (!a) throw new Error(`no calibration activation for ${x}`);
    return a;
  }

  #set(x: string, a: Act): string {
    this.#acts.set(x, a);
    return x;
  }

  /** Uniform in ±limit. */
  uniform(n: number, limit: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = (this.#rand() * 2 - 1) * limit;
    return out;
  }

  /**
   * Conv2d with bias (BatchNorm folded), then SiLU; or, with `head`, raw outputs with that
   * standard deviation around that offset.
   */
  conv(
    x: string,
    cin: number,
    cout: number,
    k: number,
    stride: number,
    outSize: number,
    head?: { std: number; offset: number },
  ): string {
    const fanIn = cin * k * k;
    const w = this.uniform(cout * fanIn, Math.sqrt(3 / fanIn));
    const y = conv2d(this.act(x), w, cout, k, stride);
    const plane = y.h * y.w;
    const bias = new Float32Array(cout);
    const std = head?.std ?? 1;
    // one scale per layer (per-channel scales fitted to one image blow up on others), one
    // offset per channel
    const means = new Float64Array(cout);
    let variance = 0;
    for (let o = 0; o < cout; o++) {
      let sum = 0, sq = 0;
      for (let i = o * plane; i < (o + 1) * plane; i++) {
        sum += y.data[i];
        sq += y.data[i] * y.data[i];
      }
      means[o] = sum / plane;
      variance += (sq / plane - means[o] * means[o]) / cout;
    }
    const scale = std / Math.sqrt(Math.max(1e-12, variance));
    for (let i = 0; i < w.length; i++) w[i] *= scale;
    for (let o = 0; o < cout; o++) {
      const shift = (this.#rand() * 2 - 1) * 0.1 * std + (head?.offset ?? 0);
      bias[o] = shift - means[o] * scale;
      for (let i = o * plane; i < (o + 1) * plane; i++) {
        const v = y.data[i] * scale + bias[o];
        y.data[i] = head ? v : silu(v);
      }
    }
    this.macs += cout * fanIn * outSize * outSize;
    this.params += cout * fanIn + cout;
    const p = Math.floor(k / 2);
    const out = this.g.op("Conv", [x, this.g.floats(w, [cout, cin, k, k]), this.g.floats(bias)], {
      kernel_shape: [k, k],
      strides: [stride, stride],
      pads: [p, p, p, p],
      dilations: [1, 1],
      group: 1,
    });
    if (head) return this.#set(out, y);
    return this.#set(this.g.op("Mul", [out, this.g.op("Sigmoid", [out])]), y);
  }

  add(a: string, b: string): string {
    const x = this.act(a), y = this.act(b);
    const data = x.data.map((v, i) => v + y.data[i]);
    return this.#set(this.g.op("Add", [a, b]), { ...x, data });
  }

  /** Concat on channels. */
  concat(parts: string[]): string {
    const acts = parts.map((p) => this.act(p));
    const data = new Float32Array(acts.reduce((n, a) => n + a.data.length, 0));
    let off = 0;
    for (const a of acts) {
      data.set(a.data, off);
      off += a.data.length;
    }
    const c = acts.reduce((n, a) => n + a.c, 0);
    return this.#set(this.g.op("Concat", parts, { axis: 1 }), { ...acts[0], c, data });
  }

  /** Split on channels. */
  split(x: string, sizes: number[]): string[] {
    const outs = this.g.opN("Split", [x, this.g.ints(sizes)], sizes.length, { axis: 1 });
    const a = this.#acts.get(x);
    if (a) {
      let c0 = 0;
      sizes.forEach((c, i) => {
        const plane = a.h * a.w;
        this.#acts.set(outs[i], { ...a, c, data: a.data.slice(c0 * plane, (c0 + c) * plane) });
        c0 += c;
      });
    }
    return outs;
  }

  maxPool5(x: string): string {
    const a = this.act(x);
    const data = new Float32Array(a.data.length);
    for (let c = 0; c < a.c; c++) {
      for (let y = 0; y < a.h; y++) {
        for (let xx = 0; xx < a.w; xx++) {
          let m = -Infinity;
          for (let dy = -2; dy <= 2; dy++) {
            for (let dx = -2; dx <= 2; dx++) {
              const yy = y + dy, xs = xx + dx;
              if (yy >= 0 && yy < a.h && xs >= 0 && xs < a.w) {
                m = Math.max(m, a.data[(c * a.h + yy) * a.w + xs]);
              }
            }
          }
          data[(c * a.h + y) * a.w + xx] = m;
        }
      }
    }
    const out = this.g.op("MaxPool", [x], {
      kernel_shape: [5, 5],
      strides: [1, 1],
      pads: [2, 2, 2, 2],
    });
    return this.#set(out, { ...a, data });
  }

  upsample(x: string): string {
    const a = this.act(x);
    const h = a.h * 2, w = a.w * 2;
    const data = new Float32Array(a.c * h * w);
    for (let c = 0; c < a.c; c++) {
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          data[(c * h + y) * w + xx] = a.data[(c * a.h + (y >> 1)) * a.w + (xx >> 1)];
        }
      }
    }
    const out = this.g.op("Resize", [x, this.g.floats([], [0]), this.g.floats([1, 1, 2, 2])], {
      mode: "nearest",
    });
    return this.#set(out, { c: a.c, h, w, data });
  }

  /** C2f: 1×1 conv to 2c, split, n bottlenecks on the last half, concat all, 1×1 conv. */
  c2f(x: string, cin: number, cout: number, n: number, shortcut: boolean, size: number): string {
    const c = cout / 2;
    const parts = this.split(this.conv(x, cin, 2 * c, 1, 1, size), [c, c]);
    let last = parts[1];
    for (let i = 0; i < n; i++) {
      const inner = this.conv(this.conv(last, c, c, 3, 1, size), c, c, 3, 1, size);
      last = shortcut ? this.add(last, inner) : inner;
      parts.push(last);
    }
    return this.conv(this.concat(parts), (2 + n) * c, cout, 1, 1, size);
  }

  /** SPPF: 1×1 conv to c/2, three chained 5×5 max-pools, concat the four, 1×1 conv. */
  sppf(x: string, cin: number, cout: number, size: number): string {
    const parts = [this.conv(x, cin, cin / 2, 1, 1, size)];
    for (let i = 0; i < 3; i++) parts.push(this.maxPool5(parts[i]));
    return this.conv(this.concat(parts), 2 * cin, cout, 1, 1, size);
  }

  /** The backbone up to C2f(256); returns the outputs at strides 8, 16 and 32. */
  backbone(images: string, size: number): [string, string, string] {
    const s = (f: number) => size / f;
    let x = this.conv(images, 3, 16, 3, 2, s(2));
    x = this.conv(x, 16, 32, 3, 2, s(4));
    x = this.c2f(x, 32, 32, 1, true, s(4));
    x = this.conv(x, 32, 64, 3, 2, s(8));
    const p3 = this.c2f(x, 64, 64, 2, true, s(8));
    x = this.conv(p3, 64, 128, 3, 2, s(16));
    const p4 = this.c2f(x, 128, 128, 2, true, s(16));
    x = this.conv(p4, 128, 256, 3, 2, s(32));
    const p5 = this.c2f(x, 256, 256, 1, true, s(32));
    return [p3, p4, p5];
  }
}

export interface YoloModel {
  bytes: Uint8Array;
  /** 2 × multiply-accumulates of every Conv and Gemm, in billions. */
  gflops: number;
  params: number;
}

/**
 * Offset added to the class-score biases: with it, a 1080p camera-like frame has a few hundred
 * anchors with a best score ≥ 0.25, so decoding and NMS get a realistic amount of work.
 */
const CLASS_LOGITS = { std: 1.5, offset: -14.5 };
/** DFL bin logits: spread enough that box sizes vary from anchor to anchor. */
const BOX_LOGITS = { std: 1.5, offset: 0 };

/** A YOLOv8n-shaped detector: `images` [1,3,S,S] → `output0` [1,84,anchors] (boxes decoded). */
export function buildYoloV8nDetector(
  opts: { size?: number; seed?: number; calibration?: Calibration } = {},
): YoloModel {
  const size = opts.size ?? 640;
  const nc = COCO_NAMES.length;
  const seed = opts.seed ?? 8;
  const net = new Net(seed);
  const g = net.g;
  const images = net.input("images", size, opts.calibration, seed);
  const [b3, b4, b5] = net.backbone(images, size);
  const s8 = size / 8, s16 = size / 16, s32 = size / 32;
  const p5 = net.sppf(b5, 256, 256, s32);
  // FPN
  let x = net.concat([net.upsample(p5), b4]);
  const n4 = net.c2f(x, 384, 128, 1, false, s16);
  x = net.concat([net.upsample(n4), b3]);
  const o3 = net.c2f(x, 192, 64, 1, false, s8);
  // PAN
  x = net.concat([net.conv(o3, 64, 64, 3, 2, s16), n4]);
  const o4 = net.c2f(x, 192, 128, 1, false, s16);
  x = net.concat([net.conv(o4, 128, 128, 3, 2, s32), p5]);
  const o5 = net.c2f(x, 384, 256, 1, false, s32);
  // Detect head: per level, box branch (64 = 4 × 16 DFL bins) and class branch (80)
  const levels: [string, number, number][] = [[o3, 64, s8], [o4, 128, s16], [o5, 256, s32]];
  const flat = levels.map(([feat, ch, hw]) => {
    const b1 = net.conv(net.conv(feat, ch, 64, 3, 1, hw), 64, 64, 3, 1, hw);
    const box = net.conv(b1, 64, 64, 1, 1, hw, BOX_LOGITS);
    const c1 = net.conv(net.conv(feat, ch, 80, 3, 1, hw), 80, 80, 3, 1, hw);
    const cls = net.conv(c1, 80, nc, 1, 1, hw, CLASS_LOGITS);
    const both = g.op("Concat", [box, cls], { axis: 1 });
    return g.op("Reshape", [both, g.ints([1, 64 + nc, hw * hw])]);
  });
  const anchors = levels.reduce((a, [, , hw]) => a + hw * hw, 0);
  const all = g.op("Concat", flat, { axis: 2 });
  const [boxBins, clsLogits] = net.split(all, [64, nc]);
  // DFL: softmax over 16 bins per side, expectation by a fixed 1×1 conv with weights 0…15
  const bins = g.op("Transpose", [g.op("Reshape", [boxBins, g.ints([1, 4, 16, anchors])])], {
    perm: [0, 2, 1, 3],
  });
  const dflW = g.floats(Array.from({ length: 16 }, (_, i) => i), [1, 16, 1, 1]);
  const dist = g.op("Reshape", [
    g.op("Conv", [g.op("Softmax", [bins], { axis: 1 }), dflW], { kernel_shape: [1, 1] }),
    g.ints([1, 4, anchors]),
  ]);
  const centres: number[] = [];
  const strides: number[] = [];
  const xs: number[] = [], ys: number[] = [];
  for (const [, , hw] of levels) {
    for (let y = 0; y < hw; y++) {
      for (let x = 0; x < hw; x++) {
        xs.push(x + 0.5);
        ys.push(y + 0.5);
        strides.push(size / hw);
      }
    }
  }
  centres.push(...xs, ...ys);
  const anchorPts = g.floats(centres, [1, 2, anchors]);
  const [lt, rb] = net.split(dist, [2, 2]);
  const x1y1 = g.op("Sub", [anchorPts, lt]);
  const x2y2 = g.op("Add", [anchorPts, rb]);
  const cxy = g.op("Mul", [g.op("Add", [x1y1, x2y2]), g.floats([0.5], [])]);
  const wh = g.op("Sub", [x2y2, x1y1]);
  const boxes = g.op("Mul", [
    g.op("Concat", [cxy, wh], { axis: 1 }),
    g.floats(strides, [1, 1, anchors]),
  ]);
  g.op("Concat", [boxes, g.op("Sigmoid", [clsLogits])], { axis: 1 }, "output0");
  g.output("output0", [1, 4 + nc, anchors]);
  const bytes = writeOnnxModel({
    graph: g,
    graphName: "yolov8n_random",
    metadata: {
      description: "YOLOv8n-shaped detector with random weights, generated by detector's " +
        "testmodels for benchmarks: real compute, meaningless detections",
      author: "detector testmodels",
      version: "1",
      task: "detect",
      batch: "1",
      stride: "32",
      imgsz: `[${size}, ${size}]`,
      names: pythonNamesLiteral(COCO_NAMES),
    },
  });
  return { bytes, gflops: 2 * net.macs / 1e9, params: net.params };
}

/** A YOLOv8n-cls-shaped classifier: `images` [1,3,S,S] → `output0` [1,nc] softmax. */
export function buildYoloV8nClassifier(
  opts: { size?: number; seed?: number; names?: string[]; calibration?: Calibration } = {},
): YoloModel {
  const size = opts.size ?? 224;
  const names = opts.names ??
    ["Honda", "Toyota", "Ford", "Volkswagen", "BMW", "Hyundai", "Kia", "Nissan", "Renault", "Fiat"];
  const nc = names.length;
  const seed = opts.seed ?? 9;
  const net = new Net(seed);
  const g = net.g;
  const images = net.input("images", size, opts.calibration, seed);
  const [, , b5] = net.backbone(images, size);
  const head = net.conv(b5, 256, 1280, 1, 1, size / 32);
  const pooled = g.op("Flatten", [g.op("GlobalAveragePool", [head])], { axis: 1 });
  // pooled SiLU outputs are about 0.3: logits with a standard deviation of about 1.5
  const fc = g.floats(net.uniform(nc * 1280, Math.sqrt(3 / 1280) * 5), [nc, 1280]);
  net.macs += nc * 1280;
  net.params += nc * 1280 + nc;
  const logits = g.op("Gemm", [pooled, fc, g.floats(new Array(nc).fill(0))], { transB: 1 });
  g.op("Softmax", [logits], { axis: 1 }, "output0");
  g.output("output0", [1, nc]);
  const bytes = writeOnnxModel({
    graph: g,
    graphName: "yolov8n_cls_random",
    metadata: {
      description: "YOLOv8n-cls-shaped classifier with random weights, generated by detector's " +
        "testmodels for benchmarks: real compute, meaningless classes",
      author: "detector testmodels",
      version: "1",
      task: "classify",
      batch: "1",
      stride: "32",
      imgsz: `[${size}, ${size}]`,
      names: pythonNamesLiteral(names),
    },
  });
  return { bytes, gflops: 2 * net.macs / 1e9, params: net.params };
}
