/**
 * Reads what loading and validation need from an ONNX file without running it: inputs and outputs
 * with shapes, opset, and `metadata_props` (where ultralytics stores `names`, `imgsz`, `task`).
 * Weights are skipped, not decoded, so this is fast on large models.
 */
import { ProtoError, protoFields, protoString } from "./protobuf_reader.ts";

export interface OnnxTensorInfo {
  name: string;
  /** ONNX element type (1 = float32). */
  elemType: number;
  /** Dimensions: numbers, or names for symbolic ones ("batch"), "?" when unknown. */
  shape: (number | string)[];
}

export interface OnnxInfo {
  irVersion: number;
  opset: number;
  producer: string;
  /** Graph inputs that are not initializers. */
  inputs: OnnxTensorInfo[];
  outputs: OnnxTensorInfo[];
  metadata: Record<string, string>;
  nodeCount: number;
}

export class OnnxFormatError extends Error {}

function readValueInfo(buf: Uint8Array): OnnxTensorInfo {
  const info: OnnxTensorInfo = { name: "", elemType: 0, shape: [] };
  for (const f of protoFields(buf)) {
    if (f.field === 1 && f.bytes) info.name = protoString(f.bytes);
    if (f.field === 2 && f.bytes) {
      for (const t of protoFields(f.bytes)) {
        if (t.field !== 1 || !t.bytes) continue; // tensor_type
        for (const tt of protoFields(t.bytes)) {
          if (tt.field === 1 && tt.int !== undefined) info.elemType = tt.int;
          if (tt.field === 2 && tt.bytes) {
            for (const d of protoFields(tt.bytes)) {
              if (d.field !== 1 || !d.bytes) continue;
              let dim: number | string = "?";
              for (const dv of protoFields(d.bytes)) {
                if (dv.field === 1 && dv.int !== undefined) dim = dv.int;
                if (dv.field === 2 && dv.bytes) dim = protoString(dv.bytes) || "?";
              }
              info.shape.push(dim);
            }
          }
        }
      }
    }
  }
  return info;
}

function initializerName(buf: Uint8Array): string {
  for (const f of protoFields(buf)) if (f.field === 8 && f.bytes) return protoString(f.bytes);
  return "";
}

/** Parses the bytes; throws `OnnxFormatError` when they are not an ONNX model. */
export function readOnnxInfo(bytes: Uint8Array): OnnxInfo {
  const info: OnnxInfo = {
    irVersion: 0,
    opset: 0,
    producer: "",
    inputs: [],
    outputs: [],
    metadata: {},
    nodeCount: 0,
  };
  let sawGraph = false;
  try {
    for (const f of protoFields(bytes)) {
      if (f.field === 1 && f.int !== undefined) info.irVersion = f.int;
      else if (f.field === 2 && f.bytes) info.producer = protoString(f.bytes);
      else if (f.field === 8 && f.bytes) {
        let domain = "";
        let version = 0;
        for (const o of protoFields(f.bytes)) {
          if (o.field === 1 && o.bytes) domain = protoString(o.bytes);
          if (o.field === 2 && o.int !== undefined) version = o.int;
        }
        if (domain === "" || domain === "ai.onnx") info.opset = version;
      } else if (f.field === 14 && f.bytes) {
        let key = "";
        let value = "";
        for (const m of protoFields(f.bytes)) {
          if (m.field === 1 && m.bytes) key = protoString(m.bytes);
          if (m.field === 2 && m.bytes) value = protoString(m.bytes);
        }
        info.metadata[key] = value;
      } else if (f.field === 7 && f.bytes) {
        sawGraph = true;
        const inits = new Set<string>();
        const inputs: OnnxTensorInfo[] = [];
        for (const gf of protoFields(f.bytes)) {
          if (gf.field === 1) info.nodeCount++;
          else if (gf.field === 5 && gf.bytes) inits.add(initializerName(gf.bytes));
          else if (gf.field === 11 && gf.bytes) inputs.push(readValueInfo(gf.bytes));
          else if (gf.field === 12 && gf.bytes) info.outputs.push(readValueInfo(gf.bytes));
        }
        info.inputs = inputs.filter((i) => !inits.has(i.name));
      }
    }
  } catch (err) {
    if (err instanceof ProtoError) {
      throw new OnnxFormatError(`not an ONNX model (protobuf: ${err.message})`);
    }
    throw err;
  }
  if (!sawGraph || info.irVersion <= 0) {
    throw new OnnxFormatError("not an ONNX model (no graph or ir_version)");
  }
  if (info.inputs.length === 0 || info.outputs.length === 0) {
    throw new OnnxFormatError("ONNX graph has no inputs or no outputs");
  }
  return info;
}
