/**
 * A classifier built from ONNX operators: the mean colour of the pixels of one colour family (or of
 * all pixels) is compared with one prototype colour per class; the nearest wins. Output `[1, nc]`:
 * probabilities (softmax in the graph) or raw scores (`softmax: false`, so the reader must apply
 * it). Ultralytics-style metadata with task `classify`.
 */
import type { ColourFamily, Rgb } from "./colours.ts";

export interface PrototypeClass {
  name: string;
  /** Prototype colour, 0..255. */
  rgb: Rgb;
}

export interface ColourClassifierOptions {
  classes: PrototypeClass[];
  /** Average only pixels of this family ("any" = the whole image). Default "any". */
  family?: ColourFamily | "any";
  /** Square input size; default 224. */
  size?: number;
  /** Softmax inside the graph; default true. */
  softmax?: boolean;
}

/** Brands, told apart by the tint of a green (frontal) region. */
export const BRAND_CLASSES: PrototypeClass[] = [
  { name: "Honda", rgb: [0, 255, 0] },
  { name: "Toyota", rgb: [100, 255, 0] },
  { name: "Ford", rgb: [0, 255, 100] },
  { name: "BMW", rgb: [100, 255, 100] },
  { name: "Kia", rgb: [0, 160, 0] },
];

/** Body types, told apart by the tint of a red (car) region. */
export const BODY_TYPE_CLASSES: PrototypeClass[] = [
  { name: "Sedan", rgb: [255, 0, 0] },
  { name: "SUV", rgb: [255, 100, 0] },
  { name: "Hatchback", rgb: [255, 0, 100] },
  { name: "Pickup", rgb: [255, 100, 100] },
  { name: "Van", rgb: [160, 0, 0] },
];

/** The ONNX bytes of a colour classifier. Deterministic. */
export function buildColourClassifier(_opts: ColourClassifierOptions): Uint8Array {
  throw new Error("not implemented yet");
}
