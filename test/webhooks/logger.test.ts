/** The webhook's logs go through the redactor: card numbers, every zone's patterns, credentials. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseSettings } from "../../injector/settings.ts";
import { createWebhookLogger, zonePatterns } from "../../webhooks/logger.ts";
import { staticNamespaceLookup } from "../../webhooks/namespaces.ts";
import { createWebhookServer, type WebhookServer } from "../../webhooks/server.ts";
import { capturingStream } from "../helpers/log-lines.ts";
import { admissionReview, createTestPki, type TestPki, webPod } from "./fixtures.ts";

let pki: TestPki;
let server: WebhookServer | undefined;
beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => pki.remove());
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("webhook logger", () => {
  it("takes the extra patterns of every zone (the shipped hipaa SSN among them), each once", () => {
    const settings = parseSettings({
      zones: {
        lab: { config: { redact: { patterns: [{ name: "ssn", pattern: "\\b\\d{3}-\\d{2}-\\d{4}\\b" }] } } },
      },
    });
    expect(zonePatterns(settings)).toEqual([{ name: "ssn", pattern: "\\b\\d{3}-\\d{2}-\\d{4}\\b" }]);
    const iban = { name: "iban", pattern: "\\bDE\\d{20}\\b" };
    const withIban = parseSettings({ zones: { lab: { config: { redact: { patterns: [iban] } } } } });
    expect(
      zonePatterns(withIban)
        .map((p) => p.name)
        .sort(),
    ).toEqual(["iban", "ssn"]);
  });

  it("masks a card number and a hipaa SSN echoed from an annotation in a denial's log line", async () => {
    const { stream, lines } = capturingStream();
    const settings = parseSettings({});
    server = createWebhookServer({
      certFile: pki.certFile,
      keyFile: pki.keyFile,
      settings,
      nativeSidecars: true,
      injectorVersion: "0.1.0-test",
      namespaces: staticNamespaceLookup({ shop: { "podgate.io/inject": "enabled" } }),
      logger: createWebhookLogger(settings, stream),
    });
    const pod = webPod("shop", {
      "podgate.io/rate-limit": "4111111111111111/fortnight",
      "podgate.io/routes": "GET /people/123-45-6789",
    });
    const response = await server.app.inject({
      method: "POST",
      url: "/mutate",
      payload: admissionReview(pod),
    });
    expect(response.json().response.allowed).toBe(false);
    const text = JSON.stringify(lines);
    expect(text).toContain("411111******1111");
    expect(text).not.toContain("4111111111111111");
    expect(text).not.toContain("123-45-6789");
    expect(lines.find((line) => line.decision === "denied")?.msg).toBe("mutate denied invalid_annotations");
  });

  it("redacts credentials by field name and keeps an error's class and stack, redacted", () => {
    const { stream, lines } = capturingStream();
    const log = createWebhookLogger(parseSettings({}), stream);
    log.warn({ headers: { authorization: "Bearer abc.def.ghi", accept: "*/*" }, token: "t0k3n" }, "review");
    log.error(new TypeError("card 4111111111111111 refused"));
    log.info("pan %s seen", "4111 1111 1111 1111");
    expect(lines[0]).toMatchObject({
      headers: { authorization: "[redacted]", accept: "*/*" },
      token: "[redacted]",
    });
    expect(lines[1]).toMatchObject({ msg: "card 411111******1111 refused", err: { type: "TypeError" } });
    expect(String((lines[1]?.err as { stack?: string } | undefined)?.stack)).toMatch(
      /^TypeError: card 411111\*{6}1111 refused\n\s+at /,
    );
    expect(lines[2]?.msg).toBe("pan 411111******1111 seen");
    expect(JSON.stringify(lines)).not.toMatch(/abc\.def\.ghi|t0k3n|4111111111111111|4111 1111 1111 1111/);
  });
});
