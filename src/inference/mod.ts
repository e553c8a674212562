/** The public door of inference/: what other folders use. */
export * from "./annotate.ts";
export * from "./backends.ts";
export * from "./load_model.ts";
export * from "./model_description.ts";
export * from "./onnx_info.ts";
export * from "./preprocess.ts";
export * from "./session_pool.ts";
export * from "./thread_budget.ts";
export { setTurboJpeg, turboJpegActive } from "./turbojpeg.ts";
export * from "./types.ts";
export * from "./worker_session.ts";
