/** Test frames: solid background with filled rectangles, as raw RGB or JPEG. */
import type { Rgb } from "./colours.ts";

export interface FrameRect {
  /** [x1, y1, x2, y2] in pixels, x2/y2 exclusive. */
  box: [number, number, number, number];
  rgb: Rgb;
}

export interface FrameSpec {
  width: number;
  height: number;
  /** Default black. */
  background?: Rgb;
  /** Drawn in order (later ones on top). */
  rects: FrameRect[];
}

/** Packed RGB pixels of the frame. */
export function colourFrameRgb(
  _spec: FrameSpec,
): { rgb: Uint8Array; width: number; height: number } {
  throw new Error("not implemented yet");
}

/** The frame encoded as JPEG by sharp (quality 95 by default). */
export function colourFrameJpeg(_spec: FrameSpec, _quality = 95): Promise<Uint8Array> {
  throw new Error("not implemented yet");
}

/**
 * A car scene: a red car body with a green frontal region on its lower half, on black. Boxes are
 * what the colour detector should return.
 */
export const CAR_SCENE: FrameSpec = {
  width: 1280,
  height: 720,
  rects: [
    { box: [200, 160, 840, 560], rgb: [255, 0, 0] },
    { box: [360, 400, 680, 540], rgb: [0, 255, 0] },
  ],
};
