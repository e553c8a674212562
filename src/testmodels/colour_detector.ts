/**
 * A detector built from ONNX operators: for each class, the box is the bounding box of the pixels
 * of that class's colour family and the score is the mean of the family's main channel over those
 * pixels (so a region drawn with red 230 scores 230/255 ≈ 0.90). Output in one of the three YOLO
 * layouts of docs/mpta.md, with ultralytics-style metadata (names, imgsz, stride, task).
 *
 * The YOLOv8 and YOLOv5 layouts carry two anchors per class: the box, and the same box 4 px larger
 * at 0.9× the score, which NMS must suppress (as neighbouring anchors overlap in real exports).
 */
import { channelPlanes, familyMask, mainChannel, meanLastTwo } from "./colour_graph.ts";
import type { ColourFamily } from "./colours.ts";
import { GraphBuilder, pythonNamesLiteral, writeOnnxModel } from "./onnx_writer.ts";

export type DetectorLayout = "yolov8" | "yolov5" | "end2end";

export interface ColourClass {
  name: string;
  family: ColourFamily;
}

export interface ColourDetectorOptions {
  /** Default yolov8. */
  layout?: DetectorLayout;
  /** Square input size; default 640. */
  size?: number;
  /** Default: Car = red, Frontal = green. */
  classes?: ColourClass[];
  /** Leave out the `names` metadata (the node must then give `classes`). */
  omitNames?: boolean;
}

export const CAR_FRONTAL_CLASSES: ColourClass[] = [
  { name: "Car", family: "red" },
  { name: "Frontal", family: "green" },
];

interface ClassBox {
  x1: string;
  y1: string;
  x2: string;
  y2: string;
  score: string;
}

/** Box edges (x2/y2 exclusive) and score of one family, each [1, 1]; all zero when absent. */
function classBox(
  g: GraphBuilder,
  planes: [string, string, string],
  family: ColourFamily,
  gridStart: string,
  gridEnd: string,
): ClassBox {
  const mask = familyMask(g, planes, family);
  const one = g.floats([1], []);
  const big = g.floats([1e5], []);
  const extent = (axis: number) => {
    const any = g.op("ReduceMax", [mask], { axes: [axis], keepdims: 0 }); // [1, S]
    const present = g.op("ReduceMax", [any], { axes: [1], keepdims: 1 }); // [1, 1]
    const absentPenalty = g.op("Mul", [g.op("Sub", [one, any]), big]);
    const lo = g.op("ReduceMin", [g.op("Add", [gridStart, absentPenalty])], {
      axes: [1],
      keepdims: 1,
    });
    const hi = g.op("ReduceMax", [g.op("Mul", [any, gridEnd])], { axes: [1], keepdims: 1 });
    return { lo: g.op("Mul", [lo, present]), hi, present };
  };
  // columns: reduce over rows (axis 1 of [1, S, S]); rows: reduce over columns (axis 2)
  const xs = extent(1);
  const ys = extent(2);
  const plane = planes[mainChannel(family)];
  const meanLit = meanLastTwo(g, g.op("Mul", [mask, plane]), 3);
  const meanMask = meanLastTwo(g, mask, 3);
  const ratio = g.op("Div", [meanLit, g.op("Add", [meanMask, g.floats([1e-9], [])])]);
  const score = g.op("Mul", [g.op("Unsqueeze", [ratio, g.ints([1])]), xs.present]);
  return { x1: xs.lo, y1: ys.lo, x2: xs.hi, y2: ys.hi, score };
}

function centreForm(g: GraphBuilder, b: ClassBox, grow: number): string[] {
  const half = g.floats([0.5], []);
  const cx = g.op("Mul", [g.op("Add", [b.x1, b.x2]), half]);
  const cy = g.op("Mul", [g.op("Add", [b.y1, b.y2]), half]);
  let w = g.op("Sub", [b.x2, b.x1]);
  let h = g.op("Sub", [b.y2, b.y1]);
  if (grow) {
    const add = g.floats([grow], []);
    w = g.op("Add", [w, add]);
    h = g.op("Add", [h, add]);
  }
  return [cx, cy, w, h];
}

/** The ONNX bytes of a colour detector. Deterministic: same options, same bytes. */
export function buildColourDetector(opts: ColourDetectorOptions = {}): Uint8Array {
  const layout = opts.layout ?? "yolov8";
  const size = opts.size ?? 640;
  const classes = opts.classes ?? CAR_FRONTAL_CLASSES;
  const nc = classes.length;
  const g = new GraphBuilder();
  const images = g.input("images", [1, 3, size, size]);
  const planes = channelPlanes(g, images);
  const gridStart = g.floats(Array.from({ length: size }, (_, i) => i), [1, size]);
  const gridEnd = g.floats(Array.from({ length: size }, (_, i) => i + 1), [1, size]);
  const boxes = classes.map((c) => classBox(g, planes, c.family, gridStart, gridEnd));
  const rows: string[] = [];
  let outDims: number[];
  if (layout === "end2end") {
    boxes.forEach((b, c) => {
      const cls = g.floats([c], [1, 1]);
      rows.push(g.op("Concat", [b.x1, b.y1, b.x2, b.y2, b.score, cls], { axis: 1 }));
    });
    outDims = [1, nc, 6];
  } else {
    const zero = g.floats([0], [1, 1]);
    const dupScale = g.floats([0.9], []);
    for (const dup of [false, true]) {
      boxes.forEach((b, c) => {
        const box = centreForm(g, b, dup ? 4 : 0);
        const s = dup ? g.op("Mul", [b.score, dupScale]) : b.score;
        if (layout === "yolov8") {
          const scores = classes.map((_, k) => (k === c ? s : zero));
          rows.push(g.op("Concat", [...box, ...scores], { axis: 1 }));
        } else {
          const probs = classes.map((_, k) => (k === c ? g.floats([1], [1, 1]) : zero));
          rows.push(g.op("Concat", [...box, s, ...probs], { axis: 1 }));
        }
      });
    }
    outDims = layout === "yolov8" ? [1, 4 + nc, 2 * nc] : [1, 2 * nc, 5 + nc];
  }
  let table = g.op("Concat", rows, { axis: 0 }); // [anchors, fields]
  if (layout === "yolov8") table = g.op("Transpose", [table], { perm: [1, 0] });
  g.op("Unsqueeze", [table, g.ints([0])], {}, "output0");
  g.output("output0", outDims);
  const metadata: Record<string, string> = {
    description:
      `Colour detector (${layout} layout) generated by detector's testmodels: boxes of ` +
      classes.map((c) => `${c.family} = ${c.name}`).join(", "),
    author: "detector testmodels",
    version: "1",
    task: "detect",
    batch: "1",
    stride: "32",
    imgsz: `[${size}, ${size}]`,
  };
  if (layout === "end2end") metadata.end2end = "True";
  if (!opts.omitNames) metadata.names = pythonNamesLiteral(classes.map((c) => c.name));
  return writeOnnxModel({ graph: g, graphName: `colour_detector_${layout}`, metadata });
}
