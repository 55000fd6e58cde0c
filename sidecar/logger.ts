import pino, { type DestinationStream, type Logger } from "pino";
import type { SidecarConfig } from "./config.ts";
import { compileRedactor, redactingLogHooks } from "./redact.ts";

/**
 * The sidecar's logger: JSON lines at `log.level`, tagged `component: "sidecar"`, with every call's
 * arguments redacted (credentials, card numbers and the config's `redact.patterns`). Default
 * destination: stdout, written synchronously (cli/sidecar.ts passes a buffered one).
 * @example createSidecarLogger(config).warn({ url }, "JWKS refresh failed")
 */
export function createSidecarLogger(config: SidecarConfig, destination?: DestinationStream): Logger {
  const options = {
    level: config.log.level,
    base: { component: "sidecar" },
    hooks: redactingLogHooks(compileRedactor(config.redact.patterns)),
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
