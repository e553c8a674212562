/** One immutable JPEG frame of one camera. `seq` grows by one per camera; `at` is capture time in ms. */
export interface Frame {
  readonly camera: string;
  readonly seq: number;
  readonly at: number;
  readonly jpeg: Uint8Array;
  readonly width?: number;
  readonly height?: number;
}

export interface FrameMeta {
  at?: number;
  width?: number;
  height?: number;
}
