/**
 * Injector golden files: every `testdata/<case>.yaml` → `<case>.injected.yaml` + `<case>.patch.json`.
 * Refresh after an intended change with:
 *   npx vitest run --project unit test/injector/golden.test.ts -u
 * CI (CI=true) never writes them: a missing or different golden fails the run.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fastJsonPatch from "fast-json-patch";
import { DaemonSet, Deployment, ReplicaSet, StatefulSet } from "kubernetes-models/apps/v1";
import { CronJob, Job } from "kubernetes-models/batch/v1";
import { Pod } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parse as parseYaml, stringify } from "yaml";
import { injectObject, type KubeObject, type ObjectResult } from "../../injector/workloads.ts";
import { caseNames, type GoldenCase, loadCase, orphanOutputs, TESTDATA } from "./golden-cases.ts";

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  Pod,
  Deployment,
  StatefulSet,
  DaemonSet,
  ReplicaSet,
  Job,
  CronJob,
};

function applyIndependently(input: KubeObject, patch: ObjectResult["patch"]): KubeObject {
  const operations = patch as fastJsonPatch.Operation[];
  return fastJsonPatch.applyPatch(structuredClone(input), operations, true, false).newDocument;
}

function header(golden: GoldenCase, result: ObjectResult): string {
  const lines = [
    `# Generated from ${golden.name}.yaml by test/injector/golden.test.ts; do not edit.`,
    "# Refresh: npx vitest run --project unit test/injector/golden.test.ts -u",
    `# case: ${golden.description}`,
  ];
  const pod = result.pod;
  if (pod === undefined) lines.push(`# decision: none (a ${result.object.kind} carries no pod)`);
  else {
    lines.push(`# decision: ${pod.decision.action} ${pod.decision.reason}: ${pod.decision.message}`);
    for (const problem of pod.decision.problems) lines.push(`# problem: ${problem}`);
    for (const warning of pod.warnings) lines.push(`# warning: ${warning}`);
  }
  return `${lines.join("\n")}\n`;
}

function render(golden: GoldenCase, result: ObjectResult): string {
  return header(golden, result) + stringify(result.object, { lineWidth: 0, aliasDuplicateObjects: false });
}

describe("injector golden files", () => {
  it("has no outputs left over from deleted cases", () => {
    expect(orphanOutputs()).toEqual([]);
  });

  it("has the cases the issue asks for", () => {
    expect(caseNames().length).toBeGreaterThanOrEqual(14);
  });

  describe.each(caseNames())("%s", (name) => {
    const golden = loadCase(name);
    const result = injectObject(golden.object, golden.context);

    it("matches the golden output and patch", async () => {
      await expect(render(golden, result)).toMatchFileSnapshot(join(TESTDATA, `${name}.injected.yaml`));
      await expect(`${JSON.stringify(result.patch, null, 2)}\n`).toMatchFileSnapshot(
        join(TESTDATA, `${name}.patch.json`),
      );
    });

    it("has a patch that fast-json-patch applies to exactly the injected object", () => {
      expect(applyIndependently(golden.object, result.patch)).toEqual(result.object);
    });

    it("produces an object valid against the Kubernetes OpenAPI schema", () => {
      const Model = MODELS[result.object.kind ?? ""];
      if (Model === undefined) return;
      expect(() => new Model(structuredClone(result.object) as never).validate()).not.toThrow();
    });

    it("is idempotent: injecting the injected object changes nothing", () => {
      const again = injectObject(result.object, golden.context);
      expect(again.patch).toEqual([]);
      if (result.pod?.decision.action === "inject")
        expect(again.pod?.decision.reason).toBe("already_injected");
    });

    const written =
      existsSync(join(TESTDATA, `${name}.patch.json`)) && existsSync(join(TESTDATA, `${name}.injected.yaml`));
    it.skipIf(!written)(
      "has goldens on disk that agree: the stored patch applied to the input gives the stored output",
      () => {
        const patch = JSON.parse(
          readFileSync(join(TESTDATA, `${name}.patch.json`), "utf8"),
        ) as ObjectResult["patch"];
        const stored = parseYaml(readFileSync(join(TESTDATA, `${name}.injected.yaml`), "utf8")) as KubeObject;
        expect(applyIndependently(golden.object, patch)).toEqual(stored);
      },
    );
  });
});
