/**
 * `podgate webhook` as a process: reads its settings, asks a local HTTP server that answers like the
 * API server for /version (nativeSidecars: auto) and for Namespaces, serves HTTPS, and exits 0 on SIGTERM.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseWebhookOptions } from "../../cli/webhook.ts";
import {
  admissionReview,
  createTestPki,
  decodePatch,
  type ReviewBody,
  type TestPki,
  webPod,
} from "../webhooks/fixtures.ts";
import { startWebhookProcess } from "../webhooks/webhook-process.ts";

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => pki.remove());

describe("podgate webhook", () => {
  it("serves reviews over HTTPS using a fake API server for /version and namespaces, and stops on SIGTERM", async () => {
    const settings = join(pki.dir, "settings.json");
    writeFileSync(settings, JSON.stringify({ nativeSidecars: "auto" }));
    const webhook = await startWebhookProcess(pki, { shop: { "podgate.io/inject": "enabled" } }, [
      "--settings",
      settings,
    ]);
    const agent = new Agent({ connect: { ca: pki.ca, servername: "localhost" } });
    try {
      const response = await request(`https://127.0.0.1:${webhook.port}/mutate`, {
        method: "POST",
        dispatcher: agent,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(admissionReview(webPod("shop"), { uid: "process-1" })),
      });
      const body = (await response.body.json()) as ReviewBody;
      expect(body.response).toMatchObject({ uid: "process-1", allowed: true });
      // The fake API server says 1.31, so auto chose native sidecars: an init container.
      expect(decodePatch(body.response)).toContainEqual(
        expect.objectContaining({ op: "add", path: "/spec/initContainers" }),
      );
      expect(webhook.api.requests).toEqual(["GET /version", "GET /api/v1/namespaces/shop"]);
    } finally {
      await agent.close();
      expect(await webhook.stop()).toBe(0);
    }
    expect(webhook.logs.filter((line) => line.webhook === "mutate")).toEqual([
      expect.objectContaining({ decision: "injected", uid: "process-1" }),
    ]);
  });

  it.each([
    [[], "--tls-cert and --tls-key are required"],
    [["--tls-cert", "c", "--tls-key", "k", "--port", "http"], "--port: expected a port number, got http"],
  ])("rejects options %j", (argv, message) => {
    expect(() => parseWebhookOptions(argv)).toThrow(message);
  });
});
