/**
 * The cores of the process, shared by the intra-op threads of every ONNX session: a run takes its
 * threads from the budget before it starts and gives them back when it ends; runs that do not fit
 * wait in arrival order. So sessions running at once (a detector and its classifier branches,
 * several cameras' pipelines) never ask for more threads than there are cores, and a run that
 * waits is never overtaken by later, smaller ones — except by urgent runs (a frame's branches,
 * which hold up the frames after it, while detections started ahead can wait), which go ahead of
 * every waiting run that is not urgent.
 */
interface Waiter {
  threads: number;
  urgent: boolean;
  resolve: () => void;
}

export class ThreadBudget {
  #free: number;
  #waiting: Waiter[] = [];

  constructor(readonly size: number) {
    this.#free = size;
  }

  /** Threads not in use right now. */
  get free(): number {
    return this.#free;
  }

  /**
   * Waits until `threads` (capped at the budget) are free, takes them; returns the release.
   * `urgent`: goes ahead of the waiting runs that are not.
   */
  async acquire(threads: number, urgent = false): Promise<() => void> {
    const n = Math.max(1, Math.min(this.size, Math.floor(threads)));
    const ahead = urgent ? this.#waiting.findIndex((w) => !w.urgent) : -1;
    const queued = ahead === -1 ? this.#waiting.length : ahead;
    if (queued === 0 && this.#free >= n) this.#free -= n;
    else {
      await new Promise<void>((resolve) =>
        this.#waiting.splice(queued, 0, { threads: n, urgent, resolve })
      );
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#free += n;
      this.#wake();
    };
  }

  #wake(): void {
    while (this.#waiting.length && this.#waiting[0].threads <= this.#free) {
      const w = this.#waiting.shift()!;
      this.#free -= w.threads;
      w.resolve();
    }
  }
}

/** Every core of the machine: the budget unless the process is told otherwise. */
export function defaultBudgetSize(): number {
  return Math.max(1, Math.floor(navigator.hardwareConcurrency ?? 1));
}

let shared: ThreadBudget | undefined;

/** Sets the cores the inference of this process may use; call once at start, before any session. */
export function setProcessThreadBudget(cores: number | undefined): void {
  shared = new ThreadBudget(Math.max(1, Math.floor(cores ?? defaultBudgetSize())));
}

/** The budget every session of the process shares. */
export function processThreadBudget(): ThreadBudget {
  shared ??= new ThreadBudget(defaultBudgetSize());
  return shared;
}
