import { execFileSync } from "node:child_process";
import { once } from "node:events";
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from "node:fs";
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

  it("writes each method, status and decision right, also past the 64 values it keeps made", () => {
    const { log, lines } = capture();
    const writer = accessLogWriter(log);
    const entries = Array.from({ length: 150 }, (_, i) => ({
      ...entry,
      method: i % 3 === 0 ? "GET" : `M${i}`,
      status: 100 + i,
      decision: i % 5 === 0 ? "forward" : `deny:policy-${i}"\u00e9`,
    }));
    for (const each of [...entries, ...entries]) writer.write(each);
    expect(lines.map((line) => JSON.parse(line))).toEqual(
      [...entries, ...entries].map((each) => expect.objectContaining({ ...each, msg: "access" })),
    );
  });

  it("leaves out an absent identity and writes nothing above info", () => {
    const { log, lines } = capture();
    accessLogWriter(log).write({ ...entry, identity: undefined });
    expect(JSON.parse(lines[0] ?? "{}")).not.toHaveProperty("identity");
    const quiet = capture("warn");
    accessLogWriter(quiet.log).write(entry);
    expect(quiet.lines).toHaveLength(0);
  });

  describe("on an asynchronous sonic-boom with minLength", () => {
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

  describe("on a synchronous file descriptor (as podgate sidecar runs)", () => {
    let dir: string | undefined;
    const fds: number[] = [];
    afterEach(() => {
      for (const fd of fds.splice(0)) closeSync(fd);
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });

    function fileLog() {
      dir = mkdtempSync(path.join(tmpdir(), "podgate-access-"));
      const file = path.join(dir, "access.log");
      const log = pino(
        { level: "info", base: { component: "sidecar" } },
        pino.destination({ dest: file, sync: true }),
      );
      const fileLines = () => readFileSync(file, "utf8").split("\n").filter(Boolean);
      return { log, fileLines };
    }

    it("holds lines until 16 KiB and writes them at once, then the rest after ACCESS_LOG_BATCH_MS, in order", async () => {
      const { log, fileLines } = fileLog();
      const writer = accessLogWriter(log);
      let sent = 0;
      while (fileLines().length === 0) {
        expect(sent).toBeLessThan(200);
        writer.write({ ...entry, requestId: `r-${sent++}` });
      }
      expect(fileLines()).toHaveLength(sent);
      expect(fileLines().join("\n").length).toBeGreaterThanOrEqual(16 * 1024 - sent);
      for (let i = 0; i < 3; i++) writer.write({ ...entry, requestId: `r-${sent++}` });
      expect(fileLines()).toHaveLength(sent - 3);
      await expect.poll(fileLines).toHaveLength(sent);
      const records = fileLines().map((line) => JSON.parse(line));
      expect(records.map((record) => record.requestId)).toEqual(
        Array.from({ length: sent }, (_, i) => `r-${i}`),
      );
      expect(records[0]).toMatchObject({
        level: 30,
        component: "sidecar",
        msg: "access",
        ...entry,
        requestId: "r-0",
      });
    });

    it("never mixes its lines with the logger's own, and writes a line larger than its buffer whole", () => {
      const { log, fileLines } = fileLog();
      const writer = accessLogWriter(log);
      const long = `/${"x".repeat(300_000)}\u00e9"`;
      for (let i = 0; i < 100; i++) {
        writer.write({ ...entry, path: i === 50 ? long : entry.path, requestId: `r-${i}` });
        if (i % 7 === 0) log.info({ i }, "own line");
      }
      writer.flush();
      const records = fileLines().map((line) => JSON.parse(line));
      expect(records.filter((record) => record.msg === "own line")).toHaveLength(15);
      const access = records.filter((record) => record.msg === "access");
      expect(access.map((record) => record.requestId)).toEqual(
        Array.from({ length: 100 }, (_, i) => `r-${i}`),
      );
      expect(access[50]?.path).toBe(long);
    });

    it("keeps lines while a non-blocking pipe is full, drops past 1 MiB with a count, and catches up once it drains", () => {
      dir = mkdtempSync(path.join(tmpdir(), "podgate-access-"));
      const fifo = path.join(dir, "stdout");
      execFileSync("mkfifo", [fifo]);
      const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      const writerFd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      fds.push(reader, writerFd);
      const readAll = () => {
        const chunks: Buffer[] = [];
        const chunk = Buffer.alloc(65_536);
        for (;;) {
          try {
            const n = readSync(reader, chunk);
            if (n === 0) break;
            chunks.push(Buffer.from(chunk.subarray(0, n)));
          } catch {
            break;
          }
        }
        return Buffer.concat(chunks).toString("utf8");
      };
      // Fill the pipe with empty lines until it takes no more.
      expect(() => {
        for (;;) writeSync(writerFd, Buffer.alloc(4096, 0x0a));
      }).toThrow(/EAGAIN/);
      const log = pino({ level: "info" }, pino.destination({ fd: writerFd, sync: true }));
      const writer = accessLogWriter(log);
      const total = 8000;
      for (let i = 0; i < total; i++) writer.write({ ...entry, requestId: `r-${i}` });
      let text = readAll();
      for (let round = 0; round < 100; round++) {
        writer.flush();
        const more = readAll();
        if (more === "") break;
        text += more;
      }
      const records = text
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line));
      const kept = records.filter((record) => record.msg === "access").map((record) => record.requestId);
      expect(kept.length).toBeGreaterThan(1000);
      expect(kept.length).toBeLessThan(total);
      expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => `r-${i}`));
      const warning = records.find((record) => record.level === 40);
      expect(warning).toMatchObject({ dropped: total - kept.length });
      expect(warning?.msg).toMatch(/dropped/);
    });
  });
});
