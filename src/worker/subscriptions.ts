/**
 * The set of running subscriptions and its reconcile against what the backend wants
 * (docs/protocol.md `setSubscriptionList`, legacy `subscribe`/`unsubscribe`, `max_streams`).
 */
import { errorMessage, logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { redactText } from "../core/mod.ts";
import { parametersDiffer, type SubscriptionSpec } from "./subscription_spec.ts";

export interface RunningSubscription {
  readonly spec: SubscriptionSpec;
  stop(): Promise<void>;
}

export interface ReconcilePlan {
  add: SubscriptionSpec[];
  remove: string[];
  restart: SubscriptionSpec[];
  keep: string[];
}

export interface ReconcileOutcome {
  added: string[];
  removed: string[];
  restarted: string[];
  kept: string[];
  /** One message per subscription refused (for instance over `max_streams`). */
  refused: string[];
}

const log = logger("subscriptions");

/** What to change so that the running set equals `desired` (ids in `desired` are unique). */
export function planReconcile(
  current: ReadonlyMap<string, SubscriptionSpec>,
  desired: readonly SubscriptionSpec[],
): ReconcilePlan {
  const wanted = new Set(desired.map((s) => s.subscriptionIdentifier));
  const plan: ReconcilePlan = { add: [], remove: [], restart: [], keep: [] };
  for (const id of current.keys()) if (!wanted.has(id)) plan.remove.push(id);
  for (const spec of desired) {
    const running = current.get(spec.subscriptionIdentifier);
    if (!running) plan.add.push(spec);
    else if (parametersDiffer(running, spec)) plan.restart.push(spec);
    else plan.keep.push(spec.subscriptionIdentifier);
  }
  return plan;
}

export class SubscriptionSet<T extends RunningSubscription> {
  #running = new Map<string, T>();

  constructor(
    private readonly start: (spec: SubscriptionSpec) => T,
    private readonly maxStreams: number,
    private readonly metrics: Metrics,
  ) {
    metrics.collect(() => [{
      name: "detector_worker_subscriptions",
      type: "gauge",
      help: "Subscriptions running",
      value: this.#running.size,
    }]);
  }

  get size(): number {
    return this.#running.size;
  }

  get(id: string): T | undefined {
    return this.#running.get(id);
  }

  list(): T[] {
    return [...this.#running.values()];
  }

  specs(): Map<string, SubscriptionSpec> {
    return new Map([...this.#running].map(([id, s]) => [id, s.spec]));
  }

  /** Makes the running set equal `desired`; unchanged subscriptions keep running untouched. */
  async reconcile(desired: readonly SubscriptionSpec[]): Promise<ReconcileOutcome> {
    const plan = planReconcile(this.specs(), desired);
    const out: ReconcileOutcome = {
      added: [],
      removed: [],
      restarted: [],
      kept: plan.keep,
      refused: [],
    };
    await Promise.all(plan.remove.map(async (id) => {
      if (await this.#stop(id)) out.removed.push(id);
    }));
    await Promise.all(plan.restart.map(async (spec) => {
      const refused = await this.#replace(spec);
      if (refused) out.refused.push(refused);
      else out.restarted.push(spec.subscriptionIdentifier);
    }));
    for (const spec of plan.add) {
      if (this.#running.size >= this.maxStreams) {
        out.refused.push(
          this.#refuse(
            "max_streams",
            `max_streams (${this.maxStreams}) reached: subscription "${spec.subscriptionIdentifier}" was not started`,
          ),
        );
        continue;
      }
      const started = this.#start(spec);
      if (typeof started === "string") {
        out.refused.push(started);
        continue;
      }
      this.#running.set(spec.subscriptionIdentifier, started);
      out.added.push(spec.subscriptionIdentifier);
    }
    if (out.added.length || out.removed.length || out.restarted.length || out.refused.length) {
      log.info("reconciled", {
        added: out.added.length,
        removed: out.removed.length,
        restarted: out.restarted.length,
        kept: out.kept.length,
        refused: out.refused.length,
      });
    }
    return out;
  }

  /** Legacy `subscribe`: adds or updates one subscription, leaves the others alone. */
  upsert(spec: SubscriptionSpec): Promise<ReconcileOutcome> {
    const current = this.specs();
    current.set(spec.subscriptionIdentifier, spec);
    const desired = [...current.values()];
    return this.reconcile(desired);
  }

  /** Legacy `unsubscribe`. Resolves false when the identifier was not running. */
  remove(id: string): Promise<boolean> {
    return this.#stop(id);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#running.keys()].map((id) => this.#stop(id)));
  }

  /** A running subscription, or why it cannot start (its source spec is refused). */
  #start(spec: SubscriptionSpec): T | string {
    try {
      return this.start(spec);
    } catch (err) {
      return this.#refuse(
        "source",
        `subscription "${spec.subscriptionIdentifier}" was not started: ${
          redactText(errorMessage(err))
        }`,
      );
    }
  }

  /**
   * Starts the new one before stopping the old, so a reader they share never stops. When the new
   * one cannot start, the old one keeps running and the reason is returned.
   */
  async #replace(spec: SubscriptionSpec): Promise<string | undefined> {
    const old = this.#running.get(spec.subscriptionIdentifier);
    const started = this.#start(spec);
    if (typeof started === "string") return started;
    this.#running.set(spec.subscriptionIdentifier, started);
    await old?.stop();
  }

  async #stop(id: string): Promise<boolean> {
    const sub = this.#running.get(id);
    if (!sub) return false;
    this.#running.delete(id);
    await sub.stop();
    return true;
  }

  #refuse(reason: "max_streams" | "source", message: string): string {
    this.metrics.inc(
      "detector_worker_subscriptions_refused_total",
      "Subscriptions not started: max_streams reached, or a source that cannot be read",
      { reason },
    );
    log.warn(message);
    return message;
  }
}
