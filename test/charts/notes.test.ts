/**
 * NOTES.txt: the next steps after an install. `helm template` does not render NOTES, and helm 3.17's
 * `install --dry-run=client` still asks for a cluster, so this reads helm 4's client-only dry run;
 * `helm lint --strict` renders NOTES with both majors (render.test.ts).
 */
import { describe, expect, it } from "vitest";
import { CHART_DIR, RELEASE, runHelm } from "./helm.ts";

async function notes(set: string[] = []): Promise<string> {
  const args = ["install", RELEASE.name, CHART_DIR, "--namespace", RELEASE.namespace, "--dry-run=client"];
  const result = await runHelm("v4", [...args, ...set.flatMap((s) => ["--set", s])]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.split("\nNOTES:\n")[1] ?? "";
}

describe("NOTES.txt (helm v4)", () => {
  it("gives the next steps: wait, label a namespace, restart its workloads, podgate check", async () => {
    const text = await notes();
    expect(text).toContain(`kubectl -n ${RELEASE.namespace} rollout status deployment/podgate`);
    expect(text).toContain("kubectl label namespace NS podgate.io/inject=enabled");
    expect(text).toContain("kubectl label namespace NS podgate.io/zone=pci");
    expect(text).toContain("kubectl rollout restart deployment -n NS");
    expect(text).toContain("podgate check");
    expect(text).toContain("start WITHOUT a\ngateway (webhook.failurePolicy=Ignore)");
  });

  it("follows the values: cert-manager, Fail, NetworkPolicy", async () => {
    const text = await notes([
      "certManager.enabled=true",
      "webhook.failurePolicy=Fail",
      "networkPolicy.enabled=true",
      "networkPolicy.namespaces={payments}",
    ]);
    expect(text).toContain("cert-manager issues the serving certificate");
    expect(text).toContain("every labelled namespace refuses new pods (webhook.failurePolicy=Fail)");
    expect(text).toContain("only on port 15080 in: payments.");
  });
});
