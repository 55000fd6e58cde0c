import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { accessLogWriter } from "../../sidecar/access-log.ts";
import { lineSink } from "../helpers/log-lines.ts";

function capture(level = "info") {
  const lines: string[] = [];
  return { log: pino({ level, base: { component: "sidecar" } }, lineSink(lines)), lines };
}

const entry = {
  method: "GET",
  path: '/a"b\\c\n<d>',
  status: 200,
  durationMs: 1.25,
  bytes: 3,
  requestId: "r-1",
  client: "::1",
  identity: "k1",
  decision: "forward",
};

describe("accessLogWriter", () => {
  it("writes pino-shaped JSON lines, escaping what a client controls", () => {
    const { log, lines } = capture();
    accessLogWriter(log).write(entry);
    log.info({ msg: "access", ...entry });
    const [fast, viaPino] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(fast).toMatchObject({ level: 30, component: "sidecar", msg: "access", ...entry });
    expect(Object.keys(fast ?? {}).sort()).toEqual(Object.keys(viaPino ?? {}).sort());
  });

  it("leaves out an absent identity and writes nothing above info", () => {
    const { log, lines } = capture();
    accessLogWriter(log).write({ ...entry, identity: undefined });
    expect(JSON.parse(lines[0] ?? "{}")).not.toHaveProperty("identity");
    const quiet = capture("warn");
    accessLogWriter(quiet.log).write(entry);
    expect(quiet.lines).toHaveLength(0);
  });

  describe("on a buffered destination (sonic-boom with minLength, as podgate sidecar runs)", () => {
    let dir: string | undefined;
    let opened: ReturnType<typeof pino.destination> | undefined;
    afterEach(async () => {
      if (opened !== undefined) {
        opened.end();
        await once(opened, "close");
        opened = undefined;
      }
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    /** A real sonic-boom file destination whose write calls are recorded. */
    function bufferedLog(minLength: number) {
      dir = mkdtempSync(path.join(tmpdir(), "podgate-access-"));
      const file = path.join(dir, "access.log");
      const destination = pino.destination({ dest: file, sync: false, minLength });
      opened = destination;
      const chunks: string[] = [];
      const write = destination.write.bind(destination);
      destination.write = (chunk: string) => {
        chunks.push(chunk);
        return write(chunk);
      };
      const log = pino({ level: "info", base: { component: "sidecar" } }, destination);
      const fileLines = () => readFileSync(file, "utf8").split("\n").filter(Boolean);
      return { log, destination, chunks, fileLines };
    }

    const linesIn = (chunks: string[]) => chunks.join("").split("\n").filter(Boolean).length;

    it("hands lines over in batches of minLength, and what is left by the ACCESS_LOG_BATCH_MS timer", async () => {
      const unbuffered = capture();
      accessLogWriter(unbuffered.log).write(entry);
      const perBatch = Math.ceil(1024 / ((unbuffered.lines[0] ?? "").length + 1));
      const { log, destination, chunks, fileLines } = bufferedLog(1024);
      const writer = accessLogWriter(log);
      const total = 2 * perBatch + 1;
      for (let i = 0; i < total; i++) writer.write({ ...entry, requestId: `r-${i}` });
      expect(chunks).toHaveLength(2);
      expect(linesIn(chunks)).toBe(2 * perBatch);
      await expect.poll(() => linesIn(chunks)).toBe(total);
      expect(chunks).toHaveLength(3);
      destination.flush();
      await expect.poll(fileLines).toHaveLength(total);
      expect(fileLines().map((line) => JSON.parse(line).requestId)).toEqual(
        Array.from({ length: total }, (_, i) => `r-${i}`),
      );
    });

    it("flush() hands over what is held at once (the sidecar calls it when it closes)", () => {
      const { log, chunks } = bufferedLog(8192);
      const writer = accessLogWriter(log);
      writer.write(entry);
      expect(chunks).toEqual([]);
      writer.flush();
      expect(chunks).toHaveLength(1);
      expect(JSON.parse(chunks[0] ?? "")).toMatchObject({ msg: "access", requestId: "r-1" });
      writer.flush();
      expect(chunks).toHaveLength(1);
    });
  });
});
