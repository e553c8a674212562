import { redactText } from "../core/mod.ts";

/** A `--mqtt` URL taken apart: broker, credentials, topic filter and the camera segment. */
export interface MqttSpec {
  /** Broker URL without credentials or topic: `mqtt://host:1883`. */
  broker: string;
  username?: string;
  password?: string;
  /** Topic filter to subscribe to: `infoscreen/+/screenshot`. */
  topic: string;
  /** Index of the topic level (the first `+`) that names the camera. */
  cameraLevel: number;
  /** The URL with the password replaced, safe to log. */
  shown: string;
}

/**
 * Parses `mqtt[s]://[user[:pass]@]host[:port]/topic/+/filter`. The topic is everything after the
 * first `/` following the host, taken literally (so `#` needs no escaping).
 */
export function parseMqttUrl(raw: string): MqttSpec {
  const m = /^(mqtts?):\/\/([^/]+)\/(.+)$/i.exec(raw.trim());
  if (!m) {
    throw new Error(
      `--mqtt expects mqtt://[user:pass@]host[:port]/topic/+/filter, got "${redact(raw)}"`,
    );
  }
  const [, scheme, authority, topic] = m;
  let url: URL;
  try {
    url = new URL(`${scheme.toLowerCase()}://${authority}`);
  } catch {
    throw new Error(`--mqtt broker address "${redact(authority)}" is not valid`);
  }
  const levels = topic.split("/");
  const cameraLevel = levels.indexOf("+");
  if (cameraLevel < 0) {
    throw new Error(
      `--mqtt topic "${topic}" needs a "+" level that names the camera, e.g. infoscreen/+/screenshot`,
    );
  }
  if (
    levels.some((l, i) =>
      (l.includes("+") && l !== "+") || (l.includes("#") && (l !== "#" || i !== levels.length - 1))
    )
  ) {
    throw new Error(`--mqtt topic "${topic}" is not a valid MQTT topic filter`);
  }
  const port = url.port || (scheme.toLowerCase() === "mqtts" ? "8883" : "1883");
  const broker = `${url.protocol}//${url.hostname}:${port}`;
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const shown = `${url.protocol}//${
    username ? `${url.username}${password ? ":***" : ""}@` : ""
  }${url.hostname}:${port}/${topic}`;
  return { broker, username, password, topic, cameraLevel, shown };
}

function redact(text: string): string {
  return text.includes("://") ? redactText(text) : redactText(`x://${text}`).slice(4);
}
