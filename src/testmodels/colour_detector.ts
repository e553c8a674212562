/**
 * A detector built from ONNX operators: for each class, the box is the bounding box of the pixels
 * of that class's colour family and the score is their mean brightness of the family's main
 * channel (so a region drawn with red 230 scores 230/255 ≈ 0.90). Output in one of the three YOLO
 * layouts of MPTA.md, with ultralytics-style metadata (names, imgsz, stride, task).
 *
 * The YOLOv8 and YOLOv5 layouts carry two anchors per class: the box, and the same box at 0.9×
 * the score, which NMS must suppress (as in real exports, where neighbouring anchors overlap).
 */
import type { ColourFamily } from "./colours.ts";

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

/** The ONNX bytes of a colour detector. Deterministic: same options, same bytes. */
export function buildColourDetector(_opts: ColourDetectorOptions = {}): Uint8Array {
  throw new Error("not implemented yet");
}
