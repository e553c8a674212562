/**
 * `detector run`'s core: backend connections, message dispatch, the subscription set, heartbeats
 * and the image API, wired together. The CLI (src/cli/run.ts) builds the real dependencies.
 */
import type { FrameCache } from "../core/mod.ts";
import { errorMessage, logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { jsonError } from "../http/mod.ts";
import type { Route } from "../http/mod.ts";
import { CropError } from "../sources/mod.ts";
import { type BackendConnection, BackendHub } from "./backend_connection.ts";
import { DisplaySessions } from "./display_sessions.ts";
import { type GpuFigures, readGpuFigures } from "./gpu_stats.ts";
import { policyRefusal, type UrlPolicy } from "./host_allow_list.ts";
import { LogThrottle } from "../core/mod.ts";
import { type BackendMessage, errorReply, parseMessage } from "./messages.ts";
import { stateReport } from "./state_report.ts";
import type { SubscriptionSpec } from "./subscription_spec.ts";
import { type PipelineSource, type ReaderPool, SubscriptionRunner } from "./subscription_runner.ts";
import { type ReconcileOutcome, SubscriptionSet } from "./subscriptions.ts";
import { type SystemFigures, SystemStats } from "./system_stats.ts";

export interface WorkerSettings {
  heartbeatMs: number;
  graceMs: number;
  maxStreams: number;
  /** Least time between two pipeline runs of one subscription. */
  minIntervalMs: number;
  /** First retry delay of a model that failed to load (default 2 s). */
  modelRetryMs?: number;
  /** Backend connections must present this token (`--backend-token`). */
  backendToken?: string;
  /** Hosts the backend may point streams and model downloads at (`--allow-hosts`). */
  urlPolicy?: UrlPolicy;
}

export interface WorkerDeps {
  cache: FrameCache;
  readers: ReaderPool & { stopAll(): Promise<void> };
  pipelines: PipelineSource & { closeAll(): Promise<void> };
  settings: WorkerSettings;
  /** True while a GPU execution provider runs a model (GPU figures in stateReport). */
  gpuActive?: () => boolean;
  /** The registry every part of the worker counts into. */
  metrics: Metrics;
}

const log = logger("worker");
const MAX_PENDING_CONTROL = 256;
const MAX_ERROR_REPLIES_PER_MESSAGE = 20;

export class WorkerDaemon {
  readonly hub: BackendHub;
  readonly subscriptions: SubscriptionSet<SubscriptionRunner>;
  readonly sessions = new DisplaySessions();
  readonly #stats = new SystemStats();
  #figures: SystemFigures = { cpuUsage: null, memoryUsage: null };
  #gpu: GpuFigures = { gpuUsage: null, gpuMemoryUsage: null };
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #control: Promise<void> = Promise.resolve();
  #pending = 0;
  #stopped = false;
  #throttle = new LogThrottle({ burst: 10 });

  constructor(private readonly deps: WorkerDeps) {
    const s = deps.settings;
    this.subscriptions = new SubscriptionSet(
      (spec) => this.#startSubscription(spec),
      s.maxStreams,
      deps.metrics,
    );
    this.hub = new BackendHub({
      graceMs: s.graceMs,
      token: s.backendToken,
      metrics: deps.metrics,
      onOpen: (conn) => conn.send(this.stateReport(), false),
      onMessage: (conn, data) => this.#onMessage(conn, data),
      onGraceExpired: () =>
        this.#enqueueControl(async () => {
          await this.subscriptions.stopAll();
          this.sessions.clear();
        }),
    });
  }

  /** Samples machine figures and starts the heartbeat. */
  async start(): Promise<void> {
    await this.#refreshFigures();
    this.#heartbeat = setInterval(() => {
      if (this.hub.current) {
        this.hub.send(this.stateReport(), false);
        this.deps.metrics.inc("detector_worker_heartbeats_total", "stateReport heartbeats sent");
      }
      void this.#refreshFigures();
    }, this.deps.settings.heartbeatMs);
  }

  stateReport(): Record<string, unknown> {
    return stateReport(this.#figures, this.#gpu, this.subscriptions.list());
  }

  /** The worker's routes: the WebSocket at `/` and the image API. */
  routes(): Route[] {
    return [
      {
        method: "GET",
        path: "/",
        handler: (req, _params, info) => {
          if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
            return Response.json({
              service: "detector run",
              websocket: "/",
              routes: ["/camera/{subscriptionIdentifier}/image", "/healthz", "/metrics"],
            });
          }
          const addr = info.remoteAddr as Deno.NetAddr;
          return this.hub.upgrade(req, `${addr.hostname}:${addr.port}`, addr.hostname);
        },
      },
      {
        method: "GET",
        path: "/camera/:id/image",
        handler: (_req, params) => this.#image(params.id),
      },
    ];
  }

  /** Shutdown: close the backend with 1001, stop every subscription and reader, flush writes. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    this.hub.closeAll();
    await this.#control.catch(() => {});
    await this.subscriptions.stopAll();
    await this.deps.readers.stopAll();
    await this.deps.pipelines.closeAll();
  }

  async #refreshFigures(): Promise<void> {
    try {
      this.#figures = await this.#stats.read();
      this.#gpu = await readGpuFigures(this.deps.gpuActive?.() ?? false);
    } catch (err) {
      log.debug("reading machine figures failed", { error: errorMessage(err) });
    }
  }

  #startSubscription(spec: SubscriptionSpec): SubscriptionRunner {
    return new SubscriptionRunner(spec, {
      cache: this.deps.cache,
      readers: this.deps.readers,
      pipelines: this.deps.pipelines,
      sessions: this.sessions,
      metrics: this.deps.metrics,
      send: (m) => {
        if (this.hub.send(m)) {
          this.deps.metrics.inc(
            "detector_worker_messages_sent_total",
            "Messages sent to the backend",
            {
              type: String(m.type),
            },
          );
        }
      },
      minIntervalMs: this.deps.settings.minIntervalMs,
      modelRetry: this.deps.settings.modelRetryMs
        ? { initialMs: this.deps.settings.modelRetryMs }
        : undefined,
      onModelError: (s, message) =>
        this.hub.send(
          errorReply(`subscription "${s.subscriptionIdentifier}": ${message}`, null),
        ),
    });
  }

  async #image(id: string): Promise<Response> {
    const sub = this.subscriptions.get(id);
    if (!sub) {
      return jsonError(404, `unknown subscription "${id}"`, {
        subscriptions: this.subscriptions.list().map((s) => s.id),
      });
    }
    const image = sub.image();
    if (!image) return jsonError(404, `no frame yet for "${id}"`);
    try {
      const { jpeg, width, height } = await image;
      return new Response(jpeg as Uint8Array<ArrayBuffer>, {
        headers: {
          "content-type": "image/jpeg",
          "cache-control": "no-store",
          "x-image-size": `${width}x${height}`,
        },
      });
    } catch (err) {
      if (err instanceof CropError) return jsonError(422, err.message);
      throw err;
    }
  }

  #reply(conn: BackendConnection, message: string, received: string | null): void {
    this.deps.metrics.inc("detector_worker_bad_messages_total", "Backend messages refused", {
      type: received ?? "none",
    });
    this.#throttle.warn(log, `bad ${received}`, "refused a backend message", {
      connection: conn.id,
      type: received,
      error: message,
    });
    conn.send(errorReply(message, received));
  }

  #onMessage(conn: BackendConnection, data: unknown): void {
    const parsed = parseMessage(data as string);
    if (!parsed.ok) return this.#reply(conn, parsed.error, parsed.received);
    const msg = parsed.message;
    this.deps.metrics.inc("detector_worker_messages_received_total", "Valid backend messages", {
      type: msg.type,
    });
    this.#dispatch(conn, msg);
  }

  #dispatch(conn: BackendConnection, msg: BackendMessage): void {
    switch (msg.type) {
      case "requestState":
        conn.send(this.stateReport(), false);
        return;
      case "setSessionId":
        this.sessions.set(msg.displayIdentifier, msg.sessionId);
        log.debug("backend session", { display: msg.displayIdentifier, sessionId: msg.sessionId });
        return;
      case "patchSessionResult":
        if (msg.success) {
          log.debug("patchSession accepted", { sessionId: msg.sessionId });
        } else {
          this.deps.metrics.inc(
            "detector_worker_patch_session_failures_total",
            "patchSession requests the backend refused",
          );
          log.warn("patchSession refused by the backend", {
            sessionId: msg.sessionId,
            message: msg.message,
          });
        }
        return;
      case "setSubscriptionList": {
        const rejected = [...msg.rejected];
        const allowed = msg.subscriptions.filter((s) => {
          const refusal = this.#policyRefusal(s);
          if (refusal) rejected.push(refusal);
          return !refusal;
        });
        rejected.slice(0, MAX_ERROR_REPLIES_PER_MESSAGE).forEach((e) =>
          this.#reply(conn, e, msg.type)
        );
        if (rejected.length > MAX_ERROR_REPLIES_PER_MESSAGE) {
          this.#reply(
            conn,
            `${rejected.length - MAX_ERROR_REPLIES_PER_MESSAGE} more subscriptions refused`,
            msg.type,
          );
        }
        this.#enqueueControl(() => this.subscriptions.reconcile(allowed), conn, msg.type);
        return;
      }
      case "subscribe": {
        const refusal = this.#policyRefusal(msg.subscription);
        if (refusal) return this.#reply(conn, refusal, msg.type);
        this.#enqueueControl(() => this.subscriptions.upsert(msg.subscription), conn, msg.type);
        return;
      }
      case "unsubscribe":
        this.#enqueueControl(
          async () => {
            if (!await this.subscriptions.remove(msg.subscriptionIdentifier)) {
              log.info("unsubscribe of an identifier that is not subscribed", {
                subscription: msg.subscriptionIdentifier,
              });
            }
          },
          conn,
          msg.type,
        );
        return;
    }
  }

  #policyRefusal(spec: SubscriptionSpec): string | undefined {
    const policy = this.deps.settings.urlPolicy;
    if (!policy) return undefined;
    const refusal = policyRefusal(spec, policy);
    if (refusal) {
      this.deps.metrics.inc(
        "detector_worker_hosts_refused_total",
        "Subscriptions refused because a stream or model host is not in the allow-list",
      );
    }
    return refusal;
  }

  /** Subscription changes run one after another, in arrival order, with a bounded queue. */
  #enqueueControl(
    task: () => Promise<ReconcileOutcome | void>,
    conn?: BackendConnection,
    type?: string,
  ): void {
    if (this.#stopped) return;
    if (this.#pending >= MAX_PENDING_CONTROL) {
      this.deps.metrics.inc(
        "detector_worker_control_dropped_total",
        "Subscription changes refused because too many were waiting",
      );
      if (conn) {
        this.#reply(
          conn,
          `too many subscription changes waiting (${MAX_PENDING_CONTROL}); this one was dropped`,
          type ?? null,
        );
      }
      return;
    }
    this.#pending++;
    this.#control = this.#control.then(async () => {
      if (this.#stopped) return;
      const out = await task();
      if (out && conn) { for (const r of out.refused) this.#reply(conn, r, type ?? null); }
    }).catch((err) => {
      log.error("subscription change failed", { error: errorMessage(err) });
    }).finally(() => this.#pending--);
  }
}
