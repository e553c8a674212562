/** Minimal protobuf decoding: walks the fields of one message without a schema. */

export interface ProtoField {
  field: number;
  wire: number;
  /** Varint value (wire 0), as a number (exact below 2^53; negative int64 come out negative). */
  int?: number;
  /** Bytes of a length-delimited field (wire 2); a view, not a copy. */
  bytes?: Uint8Array;
}

export class ProtoError extends Error {}

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new ProtoError("truncated varint");
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
  throw new ProtoError("varint longer than 10 bytes");
}

/** Iterates the fields of a message; throws `ProtoError` on malformed bytes. */
export function* protoFields(buf: Uint8Array): Generator<ProtoField> {
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = readVarint(buf, pos);
    pos = p1;
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) throw new ProtoError("field number 0");
    switch (wire) {
      case 0: {
        const [v, p2] = readVarint(buf, pos);
        pos = p2;
        yield { field, wire, int: Number(BigInt.asIntN(64, v)) };
        break;
      }
      case 1:
        if (pos + 8 > buf.length) throw new ProtoError("truncated fixed64");
        yield { field, wire, bytes: buf.subarray(pos, pos + 8) };
        pos += 8;
        break;
      case 2: {
        const [len, p2] = readVarint(buf, pos);
        const end = p2 + Number(len);
        if (len < 0n || end > buf.length) {
          throw new ProtoError("length-delimited field past the end");
        }
        yield { field, wire, bytes: buf.subarray(p2, end) };
        pos = end;
        break;
      }
      case 5:
        if (pos + 4 > buf.length) throw new ProtoError("truncated fixed32");
        yield { field, wire, bytes: buf.subarray(pos, pos + 4) };
        pos += 4;
        break;
      default:
        throw new ProtoError(`unsupported wire type ${wire}`);
    }
  }
}

const decoder = new TextDecoder("utf-8", { fatal: false });

export function protoString(bytes: Uint8Array | undefined): string {
  return bytes ? decoder.decode(bytes) : "";
}
