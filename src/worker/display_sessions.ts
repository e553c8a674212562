/** Backend session ids per display (`setSessionId`), read when reporting that display's frames. */
import type { SessionIdValue } from "./messages.ts";

export class DisplaySessions {
  #ids = new Map<string, number | string>();

  set(displayId: string, sessionId: SessionIdValue): void {
    if (sessionId === null) this.#ids.delete(displayId);
    else this.#ids.set(displayId, sessionId);
  }

  get(displayId: string): number | string | undefined {
    return this.#ids.get(displayId);
  }

  clear(): void {
    this.#ids.clear();
  }

  get size(): number {
    return this.#ids.size;
  }
}
