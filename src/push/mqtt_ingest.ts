import mqtt from "mqtt";
import { Backoff, sleep } from "../core/mod.ts";
import { errorMessage, logger } from "../core/mod.ts";
import { redactText } from "../core/mod.ts";
import { decodeJsonImage } from "./base64_image.ts";
import { normalizeImage } from "./image_normalize.ts";
import { LogThrottle } from "../core/mod.ts";
import type { MqttSpec } from "./mqtt_url.ts";
import type { PushSink } from "./push_sink.ts";

const log = logger("mqtt");
/** Payloads being decoded at once; more are dropped and counted, never queued without bound. */
const MAX_IN_FLIGHT = 16;

/**
 * Subscribes to a topic filter and puts each screenshot (raw JPEG/PNG or JSON `{"image": base64}`)
 * into the cache under the camera named by the `+` level. Reconnects forever with backoff.
 */
export class MqttIngest {
  #spec: MqttSpec;
  #sink: PushSink;
  #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #client: mqtt.MqttClient | undefined;
  #inFlight = 0;
  #connected = false;
  #throttle = new LogThrottle({ windowMs: 5000 });
  #uncollect: () => void;

  constructor(spec: MqttSpec, sink: PushSink, private readonly connectTimeoutMs = 10_000) {
    this.#spec = spec;
    this.#sink = sink;
    this.#uncollect = sink.metrics.collect(() => [{
      name: "detector_mqtt_connected",
      type: "gauge",
      help: "1 while connected and subscribed to the MQTT broker",
      value: this.#connected ? 1 : 0,
      labels: { broker: spec.shown },
    }]);
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#client?.end(true);
    await this.#loop;
    this.#uncollect();
  }

  async #run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const startedAt = Date.now();
      let healthy = 0;
      try {
        healthy = await this.#session(signal);
      } catch (err) {
        log.warn("MQTT connection failed", {
          broker: this.#spec.shown,
          error: redactText(errorMessage(err)),
        });
      }
      this.#connected = false;
      if (signal.aborted) break;
      this.#sink.metrics.inc("detector_mqtt_reconnects_total", "MQTT reconnect attempts", {
        broker: this.#spec.shown,
      });
      const delay = backoff.next(healthy || 0);
      log.info("MQTT reconnecting", {
        broker: this.#spec.shown,
        inMs: delay,
        upForMs: healthy || Date.now() - startedAt,
      });
      await sleep(delay, signal);
    }
  }

  /** One connection: resolves with how long it stayed subscribed once it closes. */
  #session(signal: AbortSignal): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const client = mqtt.connect(this.#spec.broker, {
        username: this.#spec.username,
        password: this.#spec.password,
        clientId: `detector-${crypto.randomUUID().slice(0, 8)}`,
        reconnectPeriod: 0,
        connectTimeout: this.connectTimeoutMs,
        clean: true,
      });
      this.#client = client;
      let subscribedAt = 0;
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        client.removeAllListeners("message");
        client.end(true);
        if (err && !subscribedAt) reject(err);
        else resolve(subscribedAt ? Date.now() - subscribedAt : 0);
      };
      signal.addEventListener("abort", () => finish(), { once: true });
      client.on("connect", () => {
        client.subscribe(this.#spec.topic, { qos: 0 }, (err) => {
          if (err) {
            return finish(new Error(`subscribe to ${this.#spec.topic} refused: ${err.message}`));
          }
          subscribedAt = Date.now();
          this.#connected = true;
          log.info("MQTT subscribed", { broker: this.#spec.shown, topic: this.#spec.topic });
        });
      });
      client.on("message", (topic, payload) => this.#onMessage(topic, payload));
      client.on("error", (err) => finish(err));
      client.on("close", () => finish(new Error("connection closed")));
    });
  }

  #onMessage(topic: string, payload: Uint8Array): void {
    this.#sink.metrics.inc("detector_mqtt_messages_total", "MQTT messages received", {
      broker: this.#spec.shown,
    });
    const camera = topic.split("/")[this.#spec.cameraLevel] ?? "";
    const refusal = this.#sink.refusal(camera);
    if (refusal) return this.#reject(topic, refusal.reason, refusal.message);
    if (this.#inFlight >= MAX_IN_FLIGHT) {
      return this.#reject(topic, "busy", `${MAX_IN_FLIGHT} payloads already being decoded`);
    }
    const maxJson = Math.ceil(this.#sink.maxFrameBytes / 3) * 4 + 64 * 1024;
    if (payload.byteLength > maxJson) {
      return this.#reject(topic, "too_big", `payload of ${payload.byteLength} bytes is too big`);
    }
    this.#inFlight++;
    this.#ingest(camera, topic, payload).finally(() => this.#inFlight--);
  }

  async #ingest(camera: string, topic: string, payload: Uint8Array): Promise<void> {
    let bytes = payload;
    if (payload[0] === 0x7b) {
      const decoded = decodeJsonImage(new TextDecoder().decode(payload));
      if (!decoded.ok) return this.#reject(topic, decoded.reason, decoded.message);
      bytes = decoded.bytes;
    }
    const image = await normalizeImage(bytes, this.#sink.maxFrameBytes);
    if (!image.ok) return this.#reject(topic, image.reason, image.message);
    this.#sink.put(camera, image.jpeg, "mqtt", image);
  }

  #reject(topic: string, reason: string, message: string): void {
    this.#sink.countRejected("mqtt", reason);
    const suppressed = this.#throttle.pass(`${reason}:${topic}`);
    if (suppressed === undefined) return;
    log.warn("MQTT payload refused", {
      topic,
      reason,
      error: message,
      suppressed: suppressed || undefined,
    });
  }
}
