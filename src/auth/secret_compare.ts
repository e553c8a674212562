import { createHash, timingSafeEqual } from "node:crypto";

/** Compares two secrets in time independent of where they differ (lengths are hashed away). */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** True when `given` equals one of `expected`; every entry is compared, so timing tells nothing. */
export function oneOfSecrets(given: string, expected: readonly string[]): boolean {
  let found = false;
  for (const e of expected) found = secretsEqual(given, e) || found;
  return found;
}
