import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOtlpReceiver } from "../helpers/otlp-receiver.ts";
import { REPO_ROOT, startSidecarProcess } from "../helpers/sidecar-process.ts";
import { type EchoUpstream, startEchoUpstream } from "../helpers/upstream.ts";

/** The bundle the images ship (scripts/build.ts), built once into a temporary folder. */
const outDir = mkdtempSync(path.join(tmpdir(), "podgate-bundle-"));
const bundle = path.join(outDir, "podgate.mjs");

describe("the bundle from scripts/build.ts", () => {
  let upstream: EchoUpstream | undefined;
  beforeAll(() => {
    execFileSync(process.execPath, ["scripts/build.ts", bundle], { cwd: REPO_ROOT, stdio: "pipe" });
  }, 60_000);
  afterAll(async () => {
    await upstream?.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  it("holds the CLI entry and the admin worker side by side", () => {
    expect(readdirSync(outDir)).toEqual(expect.arrayContaining(["podgate.mjs", "admin-worker.mjs"]));
  });

  it("runs the sidecar, whose admin plane and OTLP exports run in the bundled admin worker", async () => {
    upstream = await startEchoUpstream();
    const receiver = await startOtlpReceiver();
    const sidecar = await startSidecarProcess(
      { upstream: { url: upstream.url } },
      {
        entry: bundle,
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: "always_on" },
      },
    );
    try {
      expect((await fetch(`${sidecar.url}/orders`)).status).toBe(200);
      for (const path of ["/readyz", "/metrics"]) {
        expect((await fetch(`${sidecar.adminUrl}${path}`)).status).toBe(200);
      }
      // A graceful stop flushes the span and metric exporters.
      sidecar.proc.signal("SIGTERM");
      expect(await sidecar.proc.exited).toEqual({ code: 0, signal: null });
    } finally {
      await sidecar.stop();
      await receiver.close();
    }
    const paths = receiver.received.map((r) => r.url);
    expect(paths).toContain("/v1/traces");
    expect(paths).toContain("/v1/metrics");
  });
});
