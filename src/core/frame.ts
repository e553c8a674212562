/** One immutable JPEG frame of one camera. `seq` grows by one per camera; `at` is capture time in ms. */
export interface Frame {
  readonly camera: string;
  readonly seq: number;
  readonly at: number;
  readonly jpeg: Uint8Array;
  readonly width?: number;
  readonly height?: number;
  /**
   * Raw RGB24 pixels (width × height × 3) from a reader that skips the JPEG encode (`run`'s
   * ffmpeg readers); `jpeg` is then empty and consumers encode one when they need it.
   */
  readonly rgb?: Uint8Array;
  /**
   * The camera's own picture size when the reader scaled the frame down for analysis (`run`'s
   * analysis size): positions reported for this frame are in these pixels.
   */
  readonly native?: FrameSize;
}

export interface FrameSize {
  width: number;
  height: number;
}

export interface FrameMeta {
  at?: number;
  width?: number;
  height?: number;
  rgb?: Uint8Array;
  native?: FrameSize;
}
