/**
 * The default rendering, kept as a golden file so every change to the chart shows up in review as a
 * change to what it installs. Refresh with `npx vitest run --project unit test/charts/golden.test.ts -u`;
 * CI never writes it, so a stale golden fails the run. Helm 3 and helm 4 must render the same text.
 */
import { describe, expect, it } from "vitest";
import { HELM_MAJORS, templateText } from "./helm.ts";

describe.each(HELM_MAJORS)("helm %s", (major) => {
  it("renders the default values exactly as testdata/default.yaml", async () => {
    const text = await templateText(major, { release: "podgate", namespace: "podgate-system" });
    await expect(text).toMatchFileSnapshot("testdata/default.yaml");
  });
});
