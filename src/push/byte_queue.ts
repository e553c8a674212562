/** Received chunks kept as they came; bytes are only copied when a read spans chunks. */
export class ByteQueue {
  #chunks: Uint8Array[] = [];
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.byteLength;
  }

  /** Little-endian unsigned 32-bit integer at the front, without consuming it. */
  peekUint32LE(): number {
    const b = this.#peek(4);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }

  /** Removes and returns the first `n` bytes (the caller checked `length >= n`). */
  take(n: number): Uint8Array {
    const out = this.#peek(n);
    this.skip(n);
    return out;
  }

  skip(n: number): void {
    this.#length -= n;
    while (n > 0) {
      const first = this.#chunks[0];
      const left = first.byteLength - this.#head;
      if (n < left) {
        this.#head += n;
        return;
      }
      n -= left;
      this.#chunks.shift();
      this.#head = 0;
    }
  }

  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#length = 0;
  }

  #peek(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first.byteLength - this.#head >= n) {
      if (this.#head === 0 && first.byteLength === n) return first;
      return first.slice(this.#head, this.#head + n);
    }
    const out = new Uint8Array(n);
    let filled = 0;
    let head = this.#head;
    for (const chunk of this.#chunks) {
      const part = chunk.subarray(head, head + (n - filled));
      out.set(part, filled);
      filled += part.byteLength;
      head = 0;
      if (filled === n) break;
    }
    return out;
  }
}
