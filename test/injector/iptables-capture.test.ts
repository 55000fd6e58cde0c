/**
 * iptables capture for real: in a network namespace, the injected init container's script redirects
 * a client's connection to the app's port into the real sidecar, and the sidecar's own connection to
 * the app reaches the app without looping. Skips, with the reason printed, where network namespaces
 * cannot be created (no root, no CAP_SYS_ADMIN, no iptables).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { injectPod } from "../../injector/index.ts";
import { parseSettings } from "../../injector/settings.ts";

function unavailableReason(): string | undefined {
  try {
    execFileSync("unshare", ["-n", "iptables", "-t", "nat", "-S"], { stdio: "pipe" });
    return undefined;
  } catch (error) {
    return `network namespaces with iptables are unavailable here: ${String((error as Error).message).split("\n")[0]}`;
  }
}

const reason = unavailableReason();
if (reason !== undefined) console.log(`skipping iptables capture test: ${reason}`);

const pod: V1Pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "legacy", namespace: "shop", annotations: { "podgate.io/routes": "/allowed GET" } },
  spec: { containers: [{ name: "app", image: "example/legacy:1", ports: [{ containerPort: 8080 }] }] },
};

describe.skipIf(reason !== undefined)("iptables capture in a network namespace", () => {
  it("sends a client's connection to the app's port through the sidecar, and the sidecar's to the app, without a loop", () => {
    const result = injectPod(pod, {
      settings: parseSettings({ allowIptables: true }),
      namespace: { name: "shop", labels: { "podgate.io/inject": "enabled" } },
      nativeSidecars: true,
      injectorVersion: "test",
    });
    expect(result.decision.reason).toBe("injected");
    const init = result.pod.spec?.initContainers ?? [];
    const script = init.find((c) => c.name === "podgate-capture")?.command?.[2] ?? "";
    const config =
      init.find((c) => c.name === "podgate")?.env?.find((e) => e.name === "PODGATE_CONFIG")?.value ?? "";
    const run = spawnSync(
      "unshare",
      ["-n", process.execPath, join(import.meta.dirname, "iptables-harness.ts")],
      {
        env: {
          ...process.env,
          PODGATE_TEST_SCRIPT: script,
          PODGATE_TEST_CONFIG: config,
          PODGATE_TEST_APP_PORT: "8080",
        },
        encoding: "utf8",
        timeout: 25_000,
      },
    );
    const report = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}");
    expect(report.error, run.stderr).toBeUndefined();
    expect(report.allowed).toEqual({ status: 200, body: "from the app" });
    // The route allowlist answered /blocked: only the gateway could have, so the client reached it.
    expect(report.blocked.status).toBe(404);
    // The app saw one request, from the sidecar over loopback, naming the real client.
    expect(report.appSaw).toEqual([{ path: "/allowed", peer: "127.0.0.1", forwardedFor: "10.99.0.2" }]);
    expect(report.rules).toContain(
      "-A PODGATE_INBOUND -p tcp -m tcp --dport 8080 -j REDIRECT --to-ports 15080",
    );
    expect(report.rules.match(/-A PREROUTING -p tcp -j PODGATE_INBOUND/g)).toHaveLength(1);
  });
});
