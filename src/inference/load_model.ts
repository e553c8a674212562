/** Turns ONNX bytes into a ready `Model` (detection or classification) on the chosen backend. */
import type { LoadOptions, Model } from "./types.ts";

/**
 * Loads a model: reads its metadata (task, class names, input size), picks the output layout from
 * the output shape, creates a session on the backend (`auto`: native, else wasm with one log line).
 * Throws with a message naming the problem (corrupt file, unknown layout, no class names).
 */
export function loadModel(_onnx: Uint8Array, _opts: LoadOptions = {}): Promise<Model> {
  throw new Error("not implemented yet");
}
