/** ONNX sub-graphs shared by the colour models: channel planes and colour-family masks. */
import { type ColourFamily, FAMILY_CHANNELS } from "./colours.ts";
import { GraphBuilder, ONNX_FLOAT } from "./onnx_writer.ts";

/** The three channel planes [1, S, S] of an NCHW input, built once per graph. */
export function channelPlanes(g: GraphBuilder, images: string): [string, string, string] {
  return [0, 1, 2].map((c) => g.op("Gather", [images, g.ints([c], [])], { axis: 1 })) as [
    string,
    string,
    string,
  ];
}

/** A float mask [1, S, S]: 1 where the pixel belongs to the family. */
export function familyMask(
  g: GraphBuilder,
  planes: [string, string, string],
  family: ColourFamily,
): string {
  const half = g.floats([0.5], []);
  const tests = FAMILY_CHANNELS[family].map((hi, c) =>
    g.op(hi ? "Greater" : "Less", [planes[c], half])
  );
  const both = g.op("And", [tests[0], tests[1]]);
  return g.op("Cast", [g.op("And", [both, tests[2]])], { to: ONNX_FLOAT });
}

/** Index of the family's first high channel (its brightness is the detection score). */
export function mainChannel(family: ColourFamily): number {
  return FAMILY_CHANNELS[family].indexOf(true);
}

/**
 * Mean over the last two axes in two steps (rows, then columns), so float32 rounding stays small
 * and the same on every backend (one 400 000-element sum drifts by ~1e-4 between runtimes).
 */
export function meanLastTwo(g: GraphBuilder, x: string, rank: 3 | 4): string {
  const rows = g.op("ReduceMean", [x], { axes: [rank - 1], keepdims: 0 });
  return g.op("ReduceMean", [rows], { axes: [rank - 2], keepdims: 0 });
}
