import { ByteQueue } from "./byte_queue.ts";

/**
 * The camera push protocol (README "WebSocket push"), parsed as one byte stream whatever the WebSocket
 * message boundaries are. All integers are unsigned 32-bit little-endian
 * (Python `n.to_bytes(4, "little")`):
 *
 *   [camera id][token length][token, UTF-8]   then repeated   [frame length][JPEG bytes]
 *
 * After the handshake a binary message that begins with FF D8 FF while no frame is in progress is
 * one whole JPEG (a length prefix can only start with those bytes for lengths of at least
 * 0x00FFD8FF, which is over the largest frame this parser accepts).
 */
export type PushEvent =
  | { kind: "hello"; cameraId: number; token: string }
  | { kind: "frame"; jpeg: Uint8Array; framing: "length-prefixed" | "whole-message" };

/** Close codes of RFC 6455 used for refusals. */
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_UNSUPPORTED = 1003;

export class PushProtocolError extends Error {
  constructor(
    readonly code: number,
    /** Counter label: bad_token_length, too_big, … */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export const MAX_TOKEN_BYTES = 1024;
/** Lengths from here on would start with FF D8 FF, the whole-message JPEG signature. */
export const LENGTH_PREFIX_CEILING = 0x00ffd8fe;

type State = "id" | "tokenLength" | "token" | "frameLength" | "frameBody";

const utf8 = new TextDecoder("utf-8", { fatal: true });

export class PushStreamParser {
  readonly maxFrameBytes: number;
  #queue = new ByteQueue();
  #state: State = "id";
  #cameraId = 0;
  #need = 0;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = Math.min(maxFrameBytes, LENGTH_PREFIX_CEILING);
  }

  /** Bytes held while waiting for the rest of a field or frame. */
  get buffered(): number {
    return this.#queue.length;
  }

  get handshakeDone(): boolean {
    return this.#state === "frameLength" || this.#state === "frameBody";
  }

  /** True when bytes of an unfinished handshake or frame are held. */
  get midway(): boolean {
    return this.#queue.length > 0 || this.#state === "frameBody" ||
      (this.#state !== "id" && !this.handshakeDone);
  }

  /** Feeds one WebSocket message; returns the complete items it finished, in order. */
  push(message: Uint8Array): PushEvent[] {
    const events: PushEvent[] = [];
    if (
      this.#state === "frameLength" && this.#queue.length === 0 && message.byteLength >= 3 &&
      message[0] === 0xff && message[1] === 0xd8 && message[2] === 0xff
    ) {
      this.#checkSize(message.byteLength);
      events.push({ kind: "frame", jpeg: message, framing: "whole-message" });
      return events;
    }
    this.#queue.push(message);
    while (true) {
      const q = this.#queue;
      switch (this.#state) {
        case "id":
          if (q.length < 4) return events;
          this.#cameraId = q.peekUint32LE();
          q.skip(4);
          this.#state = "tokenLength";
          break;
        case "tokenLength": {
          if (q.length < 4) return events;
          const n = q.peekUint32LE();
          if (n === 0 || n > MAX_TOKEN_BYTES) {
            throw new PushProtocolError(
              CLOSE_POLICY,
              "bad_token_length",
              `token length ${n} is outside 1..${MAX_TOKEN_BYTES}`,
            );
          }
          q.skip(4);
          this.#need = n;
          this.#state = "token";
          break;
        }
        case "token": {
          if (q.length < this.#need) return events;
          let token: string;
          try {
            token = utf8.decode(q.take(this.#need));
          } catch {
            throw new PushProtocolError(CLOSE_POLICY, "bad_token", "token is not UTF-8");
          }
          events.push({ kind: "hello", cameraId: this.#cameraId, token });
          this.#state = "frameLength";
          break;
        }
        case "frameLength": {
          if (q.length < 4) return events;
          const n = q.peekUint32LE();
          if (n === 0) {
            throw new PushProtocolError(CLOSE_UNSUPPORTED, "empty_frame", "frame length is 0");
          }
          this.#checkSize(n);
          q.skip(4);
          this.#need = n;
          this.#state = "frameBody";
          break;
        }
        case "frameBody":
          if (q.length < this.#need) return events;
          events.push({ kind: "frame", jpeg: q.take(this.#need), framing: "length-prefixed" });
          this.#state = "frameLength";
          break;
      }
    }
  }

  #checkSize(n: number): void {
    if (n > this.maxFrameBytes) {
      this.#queue.clear();
      throw new PushProtocolError(
        CLOSE_TOO_BIG,
        "too_big",
        `frame length ${n} is over the limit of ${this.maxFrameBytes} bytes`,
      );
    }
  }
}
