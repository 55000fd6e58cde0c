/**
 * The container images, checked without a Docker engine (none runs here): the Dockerfiles are parsed
 * and held to what the injector and the build expect. Multi-stage, bundled with scripts/build.ts,
 * only the bundle and package.json in a distroless Node 24 runtime, non-root, `node` on PATH for the
 * startup gate, and a capture image with `sh` and `iptables`. The esbuild metafile says which source
 * folders the bundle is built from, so a new folder that the Dockerfiles do not copy fails here.
 */
import { readFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../../injector/settings.ts";

const ROOT = join(import.meta.dirname, "..", "..");

/** One Dockerfile instruction: its keyword and its argument text. */
interface Instruction {
  keyword: string;
  args: string;
}

/** A build stage: its FROM line and its instructions. */
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Parses a Dockerfile into stages: comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): { stages: Stage[]; comments: string } {
  const lines = text.split("\n");
  const comments = lines.filter((line) => line.startsWith("#")).join("\n");
  const joined = lines
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ");
  const stages: Stage[] = [];
  for (const line of joined.split("\n").filter((l) => l.trim() !== "")) {
    const [, keyword = "", args = ""] = /^\s*(\w+)\s+(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === "FROM") {
      const [from = "", , name] = args.split(/\s+/);
      stages.push({ from, name: name, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args: args.trim() });
    }
  }
  return { stages, comments };
}

function read(file: string): ReturnType<typeof parseDockerfile> {
  return parseDockerfile(readFileSync(join(ROOT, file), "utf8"));
}

const all = (stage: Stage | undefined, keyword: string) =>
  (stage?.instructions ?? []).filter((i) => i.keyword === keyword).map((i) => i.args);
const exec = (args: string | undefined) => JSON.parse(args ?? "[]") as string[];

/** The bundle path scripts/build.ts writes when given no argument. */
function bundlePath(): string {
  const source = readFileSync(join(ROOT, "scripts/build.ts"), "utf8");
  const match = /const outfile = process\.argv\[2\] \?\? "([^"]+)";/.exec(source);
  if (!match?.[1]) throw new Error("scripts/build.ts no longer names its default outfile");
  return match[1];
}

/** The top-level repository folders the bundle's own sources come from (esbuild's metafile). */
async function sourceFolders(): Promise<string[]> {
  const result = await build({
    entryPoints: [join(ROOT, "cli/podgate.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
    absWorkingDir: ROOT,
    outfile: "out.mjs",
  });
  const inputs = Object.keys(result.metafile.inputs).filter((input) => !input.includes("node_modules"));
  return [...new Set(inputs.map((input) => input.split("/")[0] ?? ""))].sort();
}

let folders: Promise<string[]> | undefined;
const bundleSourceFolders = () => {
  folders ??= sourceFolders();
  return folders;
};

describe.each([
  ["images/sidecar.Dockerfile", "sidecar", DEFAULT_SETTINGS.sidecar.image],
  ["images/webhook.Dockerfile", "webhook", "ghcr.io/podgate/podgate-webhook:0.1.0"],
])("%s", (file, command, image) => {
  const { stages, comments } = read(file);
  const builder = stages[0];
  const runtime = stages.at(-1);
  const bundle = bundlePath();

  it("builds in node:24-bookworm-slim with npm ci and scripts/build.ts", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(builder).toMatchObject({ from: "node:24-bookworm-slim", name: "build" });
    const runs = all(builder, "RUN");
    expect(runs.some((run) => /^npm ci\b/.test(run))).toBe(true);
    expect(runs).toContain(`node scripts/build.ts ${bundle}`);
    expect(comments).toContain(`docker build -f ${file} -t ${image} .`);
  });

  it("copies every source folder the bundle is built from", async () => {
    const copied = all(builder, "COPY").map((args) => args.split(/\s+/)[0]);
    const bundled = await bundleSourceFolders();
    expect(bundled).toEqual(expect.arrayContaining(["cli", "injector", "sidecar", "webhooks"]));
    for (const folder of bundled) {
      expect(copied, `${folder} is bundled but not copied`).toContainEqual(
        expect.stringMatching(new RegExp(`^${folder}(/|$)`)),
      );
    }
    const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n");
    for (const source of copied) expect(ignored).not.toContain(source?.split("/")[0]);
  });

  it("runs on a distroless Node 24 with only the build output and package.json, as non-root user 65532", () => {
    expect(runtime?.from).toMatch(/^gcr\.io\/distroless\/nodejs24-debian12:nonroot$/);
    const copies = all(runtime, "COPY").map((args) => args.split(/\s+/));
    // The whole build output: the entry and the chunks it loads (scripts/build.ts splits the code).
    const folder = dirname(bundle);
    expect(copies).toEqual([
      ["--from=build", "/src/package.json", "/app/package.json"],
      ["--from=build", `/src/${folder}/`, `/app/${folder}/`],
    ]);
    // cli/version.ts reads ../package.json relative to the bundle.
    expect(posix.join(dirname(`/app/${bundle}`), "..", "package.json")).toBe("/app/package.json");
    expect(all(runtime, "USER")).toEqual([
      `${DEFAULT_SETTINGS.sidecar.user}:${DEFAULT_SETTINGS.sidecar.user}`,
    ]);
    expect(all(runtime, "RUN")).toEqual([]);
  });

  it(`starts node on the bundle with "${command}" as the default command`, () => {
    const [node, script] = exec(all(runtime, "ENTRYPOINT")[0]);
    expect(node).toMatch(/(^|\/)node$/);
    expect(script).toBe(`/app/${bundle}`);
    expect(exec(all(runtime, "CMD")[0])[0]).toBe(command);
  });

  it("puts node on PATH for the startup gate's `node -e` exec", () => {
    const env = all(runtime, "ENV").join(" ");
    expect(env).toMatch(/PATH=\/nodejs\/bin:/);
  });
});

describe("images/sidecar.Dockerfile ports", () => {
  it("exposes the sidecar's data and admin ports from the default settings", () => {
    const runtime = read("images/sidecar.Dockerfile").stages.at(-1);
    const exposed = all(runtime, "EXPOSE").flatMap((args) => args.split(/\s+/).map(Number));
    expect(exposed).toEqual([DEFAULT_SETTINGS.sidecar.dataPort, DEFAULT_SETTINGS.sidecar.adminPort]);
  });
});

describe("images/capture.Dockerfile", () => {
  const { stages, comments } = read("images/capture.Dockerfile");
  it("is the default captureImage and has sh and iptables for the iptables init container", () => {
    expect(comments).toContain(`-t ${DEFAULT_SETTINGS.captureImage} .`);
    expect(stages[0]?.from).toMatch(/^alpine:3\.\d+$/);
    expect(all(stages[0], "RUN")).toContain("apk add --no-cache iptables ip6tables");
    expect(exec(all(stages[0], "CMD")[0])).toEqual(["sh"]);
  });
});
