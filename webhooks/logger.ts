import pino, { type DestinationStream, type Logger } from "pino";
import { getPath } from "../injector/config-path.ts";
import type { ClusterSettings } from "../injector/settings.ts";
import { compileRedactor, type RedactPattern, redactingLogHooks } from "../sidecar/redact.ts";

/**
 * The webhook's logger: JSON lines named `podgate-webhook`, with every call's arguments redacted.
 * One webhook answers for every zone, so its logs take the extra patterns of all zones (a hipaa
 * SSN is masked in a review from any namespace): redacting more than one zone asks is the safe side.
 * @example createWebhookLogger(settings).warn(decision, "mutate denied")
 */
export function createWebhookLogger(settings: ClusterSettings, destination?: DestinationStream): Logger {
  const options = {
    name: "podgate-webhook",
    hooks: redactingLogHooks(compileRedactor(zonePatterns(settings))),
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** Every zone's `redact.patterns` (loadSettings has checked them against the sidecar schema), each once. */
export function zonePatterns(settings: ClusterSettings): RedactPattern[] {
  const patterns = new Map<string, RedactPattern>();
  for (const zone of Object.values(settings.zones)) {
    const list = getPath(zone.config, "redact.patterns");
    if (!Array.isArray(list)) continue;
    for (const entry of list as RedactPattern[]) patterns.set(JSON.stringify(entry), entry);
  }
  return [...patterns.values()];
}
