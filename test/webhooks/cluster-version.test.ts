/**
 * nativeSidecars: auto asks the API server's /version once at start. No API server runs here, so
 * these tests talk to a local HTTP server that answers /version the way the API server does.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { parseSettings } from "../../injector/settings.ts";
import { resolveNativeSidecars, supportsNativeSidecars } from "../../webhooks/cluster-version.ts";

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function fakeApiServer(
  version: { major: string; minor: string; gitVersion: string },
  requests: string[],
): Promise<KubeConfig> {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.url !== "/version") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ...version, platform: "linux/amd64", goVersion: "go1.22.0", compiler: "gc" }));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "fake", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "fake", token: "t" }],
    contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
    currentContext: "fake",
  });
  return kubeConfig;
}

describe("native sidecar detection", () => {
  it.each([
    [{ major: "1", minor: "28" }, false],
    [{ major: "1", minor: "29" }, true],
    [{ major: "1", minor: "30+" }, true],
    [{ major: "2", minor: "0" }, true],
  ])("reads %o as native sidecars %s", (version, expected) => {
    expect(supportsNativeSidecars(version)).toBe(expected);
  });

  it.each([
    ["1", "31", "v1.31.2", true],
    ["1", "27+", "v1.27.16-eks-a18cd3a", false],
  ])(
    "auto asks a local HTTP server that answers /version like the API server (%s.%s)",
    async (major, minor, gitVersion, expected) => {
      const requests: string[] = [];
      const kubeConfig = await fakeApiServer({ major, minor, gitVersion }, requests);
      const native = await resolveNativeSidecars(parseSettings({ nativeSidecars: "auto" }), () => kubeConfig);
      expect(native).toBe(expected);
      expect(requests).toEqual(["GET /version"]);
    },
  );

  it("does not ask the API server when the settings say always or never", async () => {
    const unused = () => {
      throw new Error("must not build a client");
    };
    expect(await resolveNativeSidecars(parseSettings({ nativeSidecars: "always" }), unused)).toBe(true);
    expect(await resolveNativeSidecars(parseSettings({ nativeSidecars: "never" }), unused)).toBe(false);
  });
});
