import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { auditLog } from "../../sidecar/audit.ts";
import { parseConfig } from "../../sidecar/config.ts";
import { maskCardNumbers } from "../../sidecar/redact.ts";
import type { ObservedExchange } from "../../sidecar/telemetry/observer.ts";

const run = promisify(execFile);
const CLI = new URL("../../cli/podgate.ts", import.meta.url).pathname;

async function podgate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Four chained records, written by the real audit writer. */
async function chainText(): Promise<string[]> {
  let text = "";
  const stream = {
    write(chunk: string, callback?: () => void) {
      text += chunk;
      callback?.();
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const audit = auditLog({
    config: parseConfig({ audit: { enabled: true } }),
    redact: maskCardNumbers,
    stream,
  });
  for (const id of ["a", "b", "c", "d"]) {
    audit.observer.onRequestEnd(
      { requestId: id, method: "GET", path: "/x", decision: "forward", routeIndex: -1 } as ObservedExchange,
      200,
      0,
    );
  }
  await audit.close();
  return text.split("\n").filter(Boolean);
}

describe("podgate audit verify", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "podgate-audit-cli-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (lines: string[]) => {
    const file = join(dir, "audit.jsonl");
    writeFileSync(file, `${lines.join("\n")}\n`);
    return file;
  };

  it("exits 0 on an intact chain and prints the record count", async () => {
    const result = await podgate("audit", "verify", write(await chainText()));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/4 records, chain intact/);
  });

  it.each([
    ["an edited field", (l: string[]) => [l[0], (l[1] as string).replace('"GET"', '"PUT"'), l[2], l[3]], 2],
    ["a deleted line", (l: string[]) => [l[0], l[1], l[3]], 3],
    ["reordered lines", (l: string[]) => [l[0], l[2], l[1], l[3]], 2],
  ])("exits 1 naming the first broken line after %s", async (_name, tamper, line) => {
    const file = write(tamper(await chainText()) as string[]);
    const result = await podgate("audit", "verify", file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}:${line}:`);
  });

  it("exits 2 on usage errors", async () => {
    expect((await podgate("audit")).code).toBe(2);
    expect((await podgate("audit", "verify", join(dir, "missing"))).code).toBe(2);
  });
});
