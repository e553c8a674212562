import type { FrameCache } from "../core/mod.ts";
import { logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { HistoryStore } from "../history/mod.ts";
import { BodyBudget, type BodyBudgetLimits, DEFAULT_BODY_BUDGET } from "./body_budget.ts";
import type { IngestServices } from "./ingest_services.ts";
import { MqttIngest } from "./mqtt_ingest.ts";
import { parseMqttUrl } from "./mqtt_url.ts";
import { PUSH_MAX_MESSAGES_PER_SECOND, PushServer } from "./push_socket.ts";
import { PushSink } from "./push_sink.ts";

export interface IngestOptions {
  pushSecret?: string;
  uploadToken?: string;
  /** `--mqtt` URLs. */
  mqtt: string[];
  historyDir?: string;
  historyKeep: number;
  /** At most one history frame per camera per this many ms. */
  historyIntervalMs?: number;
  maxFrameBytes: number;
  /** Most camera names pushes may create (default 256). */
  maxCameras?: number;
  /** WebSocket push messages per second over all connections; 0 = no cap. */
  maxMessagesPerSecond?: number;
  /** Cameras fed by `--source`. */
  pulled: (camera: string) => boolean;
  /** The bind address, to warn when unauthenticated uploads are reachable from the network. */
  host: string;
  metrics: Metrics;
  /** Memory for bodies being received; default DEFAULT_BODY_BUDGET. */
  bodyBudget?: BodyBudgetLimits;
}

/** Default largest pushed frame when `--max-frame-bytes` is not given. */
export const PUSH_MAX_FRAME_BYTES = 8 * 1024 * 1024;

const log = logger("ingest");

/** True when `serve` has a way to receive frames without any `--source`. */
export function ingestConfigured(
  o: Pick<IngestOptions, "pushSecret" | "uploadToken" | "mqtt" | "historyDir">,
): boolean {
  return !!o.pushSecret || !!o.uploadToken || o.mqtt.length > 0 || !!o.historyDir;
}

/**
 * Sets up push ingest for `serve`: the sink, WebSocket push, MQTT subscriptions and history (whose
 * latest frames are back in the cache when this resolves). `stop` closes them in order.
 */
export async function startIngest(
  cache: FrameCache,
  opts: IngestOptions,
): Promise<{ services: IngestServices; stop: () => Promise<void> }> {
  const mqttSpecs = opts.mqtt.map(parseMqttUrl);
  const sink = new PushSink(cache, {
    maxFrameBytes: opts.maxFrameBytes,
    pulled: opts.pulled,
    metrics: opts.metrics,
    maxCameras: opts.maxCameras,
  });
  const budget = new BodyBudget(opts.bodyBudget ?? DEFAULT_BODY_BUDGET, opts.metrics);
  const push = new PushServer({
    secret: opts.pushSecret,
    sink,
    maxMessagesPerSecond: opts.maxMessagesPerSecond,
    budget,
  });
  let history: HistoryStore | undefined;
  if (opts.historyDir) {
    history = new HistoryStore({
      dir: opts.historyDir,
      keep: opts.historyKeep,
      minIntervalMs: opts.historyIntervalMs,
      metrics: opts.metrics,
    });
    await history.open(cache, (camera) => {
      if (opts.pulled(camera)) return;
      cache.setSourceStatus(camera, {
        state: "push",
        since: Date.now(),
        spec: "restored from history",
        detail: { restored: true },
      });
    });
  }
  if (push.enabled) {
    log.info("WebSocket push on at /push", {
      maxFrameBytes: opts.maxFrameBytes,
      maxMessagesPerSecond: opts.maxMessagesPerSecond ?? PUSH_MAX_MESSAGES_PER_SECOND,
    });
  } else {
    log.info("WebSocket push disabled: no --push-secret / DETECTOR_PUSH_SECRET");
  }
  if (
    !opts.uploadToken && opts.host !== "127.0.0.1" && opts.host !== "localhost" &&
    opts.host !== "::1"
  ) {
    log.warn(
      "HTTP uploads need no token: anyone reaching this port can post frames; set --upload-token",
    );
  }
  const mqtt = mqttSpecs.map((spec) => new MqttIngest(spec, sink));
  for (const m of mqtt) m.start();
  return {
    services: {
      sink,
      push,
      uploadToken: opts.uploadToken,
      history,
      budget,
    },
    stop: async () => {
      push.closeAll();
      await Promise.all(mqtt.map((m) => m.stop()));
      await history?.close();
    },
  };
}
