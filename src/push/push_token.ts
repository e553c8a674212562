import { createHmac } from "node:crypto";
import { secretsEqual } from "../auth/mod.ts";

/** A push camera's token: hex HMAC-SHA256 keyed with the server secret over the decimal camera id. */
export function pushToken(secret: string, cameraId: number): string {
  return createHmac("sha256", secret).update(String(cameraId)).digest("hex");
}

export function verifyPushToken(secret: string, cameraId: number, token: string): boolean {
  return secretsEqual(token.trim().toLowerCase(), pushToken(secret, cameraId));
}

/** Camera ids are unsigned 32-bit integers written in decimal. */
export function parseCameraId(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 0xffffffff ? n : undefined;
}
