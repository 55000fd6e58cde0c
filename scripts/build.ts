// Bundles the podgate CLI for the container images: dist/podgate.mjs, the entry point, plus the ESM
// chunks it loads beside it (dist/<name>-<hash>.mjs). No TypeScript stripping at startup and a few
// modules instead of hundreds (measured idle RSS of the sidecar: 108 MiB from the .ts sources,
// 86 MiB from a bundle). Code splitting gives each subcommand its own chunks, so `podgate sidecar`
// parses neither @kubernetes/client-node nor the webhook's X.509 code: its cold start to ready
// went from 449 to about 300 ms (test/bench/cold-start.ts). Chunks stay in the entry's folder,
// so cli/version.ts still finds ../package.json from any of them.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { build } from "esbuild";

const outfile = process.argv[2] ?? "dist/podgate.mjs";
// Chunk names carry a content hash, so an earlier build's chunks would pile up beside the new ones.
const outdir = dirname(outfile);
if (existsSync(outdir)) {
  for (const name of readdirSync(outdir)) if (/-[A-Z0-9]{8}\.mjs$/.test(name)) rmSync(join(outdir, name));
}
await build({
  entryPoints: {
    [basename(outfile, ".mjs")]: "cli/podgate.ts",
    // The admin plane, and the OTLP exports, run in a worker thread started from this file (sidecar/admin/plane.ts).
    "admin-worker": "sidecar/admin/worker.ts",
  },
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node22",
  outdir: dirname(outfile),
  outExtension: { ".js": ".mjs" },
  chunkNames: "[name]-[hash]",
  // Bundled CommonJS dependencies call require(); give every ESM chunk one.
  banner: {
    js: "import { createRequire as podgateCreateRequire } from 'node:module'; const require = podgateCreateRequire(import.meta.url);",
  },
  logLevel: "warning",
  legalComments: "none",
});
console.log(`built ${outfile}`);
