/** The sidecar's logger: every call redacted with the config's patterns (the access log has its own test). */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../sidecar/config.ts";
import { createSidecarLogger } from "../../sidecar/logger.ts";
import { capturingStream } from "../helpers/log-lines.ts";

describe("sidecar logger", () => {
  it("writes at the configured level with the sidecar component, redacting every argument", () => {
    const config = parseConfig({
      upstream: { url: "http://127.0.0.1:3000" },
      log: { level: "warn" },
      redact: { patterns: [{ name: "ssn", pattern: "\\b\\d{3}-\\d{2}-\\d{4}\\b" }] },
    });
    const { stream, lines } = capturingStream();
    const log = createSidecarLogger(config, stream);
    log.info({ path: "/dropped" }, "below the level");
    log.warn(
      { url: "https://idp/jwks?ssn=123-45-6789", cookie: "sid=1" },
      "JWKS refresh failed for %s",
      "078-05-1120",
    );
    log.error({ err: new Error("card 5555555555554444 declined") }, "upstream said");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      component: "sidecar",
      url: "https://idp/jwks?ssn=[redacted:ssn]",
      cookie: "[redacted]",
      msg: "JWKS refresh failed for [redacted:ssn]",
    });
    expect(lines[1]).toMatchObject({ err: { type: "Error", message: "card 555555******4444 declined" } });
    expect(JSON.stringify(lines)).not.toMatch(/123-45-6789|078-05-1120|sid=1|5555555555554444/);
  });
});
