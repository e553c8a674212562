/**
 * Writes ONNX ModelProto bytes by hand (onnx.proto field numbers), enough for small graphs of
 * standard operators with initializers and metadata_props. Used to generate the project's test
 * models; opset 13 (Reduce* take `axes` as an attribute, Unsqueeze/Split take it as an input).
 */
import { ProtoWriter } from "./protobuf_writer.ts";

export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;
export const ONNX_BOOL = 9;

export type AttrValue = number | string | number[] | { float: number } | { floats: number[] };

interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  name: string;
}

interface InitSpec {
  name: string;
  type: number;
  dims: number[];
  values: number[] | Float32Array;
}

interface ValueSpec {
  name: string;
  type: number;
  /** Absent: shape not stated. */
  dims?: (number | string)[];
}

/** Builds a graph node by node; names are generated (`t0`, `t1`, …) unless given. */
export class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: InitSpec[] = [];
  readonly inputs: ValueSpec[] = [];
  readonly outputs: ValueSpec[] = [];
  #n = 0;

  input(name: string, dims: (number | string)[], type = ONNX_FLOAT): string {
    this.inputs.push({ name, dims, type });
    return name;
  }

  output(name: string, dims?: (number | string)[], type = ONNX_FLOAT): void {
    this.outputs.push({ name, dims, type });
  }

  /** A float32 constant (initializer). */
  floats(values: number[] | Float32Array, dims: number[] = [values.length]): string {
    const name = `c${this.#n++}`;
    this.initializers.push({ name, type: ONNX_FLOAT, dims, values });
    return name;
  }

  /** An int64 constant (initializer). */
  ints(values: number[], dims: number[] = [values.length]): string {
    const name = `c${this.#n++}`;
    this.initializers.push({ name, type: ONNX_INT64, dims, values });
    return name;
  }

  /** Adds a node with one output; returns the output name (or `out` when given). */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out?: string): string {
    const name = out ?? `t${this.#n++}`;
    this.nodes.push({ op, inputs, outputs: [name], attrs, name: `${op}_${this.nodes.length}` });
    return name;
  }

  /** Adds a node with `count` outputs (Split); returns their names. */
  opN(
    op: string,
    inputs: string[],
    count: number,
    attrs: Record<string, AttrValue> = {},
  ): string[] {
    const outputs = Array.from({ length: count }, () => `t${this.#n++}`);
    this.nodes.push({ op, inputs, outputs, attrs, name: `${op}_${this.nodes.length}` });
    return [...outputs];
  }
}

export interface ModelSpec {
  graph: GraphBuilder;
  graphName?: string;
  opset?: number;
  producer?: string;
  /** metadata_props, in this order. */
  metadata?: Record<string, string>;
}

function writeAttr(w: ProtoWriter, name: string, v: AttrValue): void {
  w.string(1, name);
  if (typeof v === "number") {
    w.int(3, v).int(20, 2);
  } else if (typeof v === "string") {
    w.bytes(4, new TextEncoder().encode(v)).int(20, 3);
  } else if (Array.isArray(v)) {
    for (const i of v) w.int(8, i);
    w.int(20, 7);
  } else if ("float" in v) {
    w.float(2, v.float).int(20, 1);
  } else {
    for (const f of v.floats) w.float(7, f);
    w.int(20, 6);
  }
}

function writeTensor(w: ProtoWriter, t: InitSpec): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.type);
  w.string(8, t.name);
  if (t.type === ONNX_FLOAT) {
    const f = t.values instanceof Float32Array ? t.values : Float32Array.from(t.values);
    w.bytes(9, new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
  } else if (t.type === ONNX_INT64) {
    w.bytes(9, new Uint8Array(BigInt64Array.from(Array.from(t.values, (v) => BigInt(v))).buffer));
  } else {
    throw new Error(`unsupported initializer type ${t.type}`);
  }
}

function writeValueInfo(w: ProtoWriter, v: ValueSpec): void {
  w.string(1, v.name);
  w.message(2, (tp) =>
    tp.message(1, (tt) => {
      tt.int(1, v.type);
      if (v.dims) {
        tt.message(2, (shape) => {
          for (const d of v.dims!) {
            shape.message(1, (dim) => typeof d === "number" ? dim.int(1, d) : dim.string(2, d));
          }
        });
      }
    }));
}

/** Serialises the model to ONNX protobuf bytes. */
export function writeOnnxModel(spec: ModelSpec): Uint8Array {
  const g = spec.graph;
  const w = new ProtoWriter();
  w.int(1, 7); // ir_version 7 (opset 13 era)
  w.string(2, spec.producer ?? "detector-testmodels");
  w.string(3, "1");
  w.message(7, (gw) => {
    for (const n of g.nodes) {
      gw.message(1, (nw) => {
        for (const i of n.inputs) nw.string(1, i);
        for (const o of n.outputs) nw.string(2, o);
        nw.string(3, n.name);
        nw.string(4, n.op);
        for (const [k, v] of Object.entries(n.attrs)) nw.message(5, (aw) => writeAttr(aw, k, v));
      });
    }
    gw.string(2, spec.graphName ?? "main");
    for (const t of g.initializers) gw.message(5, (tw) => writeTensor(tw, t));
    for (const i of g.inputs) gw.message(11, (vw) => writeValueInfo(vw, i));
    for (const o of g.outputs) gw.message(12, (vw) => writeValueInfo(vw, o));
  });
  w.message(8, (ow) => ow.string(1, "").int(2, spec.opset ?? 13));
  for (const [key, value] of Object.entries(spec.metadata ?? {})) {
    w.message(14, (mw) => mw.string(1, key).string(2, value));
  }
  return w.finish();
}

/** A Python dict literal of class names, as ultralytics writes `names`: `{0: 'Car', 1: 'Frontal'}`. */
export function pythonNamesLiteral(names: string[]): string {
  const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  return `{${names.map((n, i) => `${i}: ${quote(n)}`).join(", ")}}`;
}
