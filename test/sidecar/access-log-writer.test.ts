import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { accessLogWriter } from "../../sidecar/access-log.ts";

function capture(level = "info") {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      callback();
    },
  });
  return { log: pino({ level, base: { component: "sidecar" } }, sink), lines };
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
    accessLogWriter(log)(entry);
    log.info({ msg: "access", ...entry });
    const [fast, viaPino] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(fast).toMatchObject({ level: 30, component: "sidecar", msg: "access", ...entry });
    expect(Object.keys(fast ?? {}).sort()).toEqual(Object.keys(viaPino ?? {}).sort());
  });

  it("leaves out an absent identity and writes nothing above info", () => {
    const { log, lines } = capture();
    accessLogWriter(log)({ ...entry, identity: undefined });
    expect(JSON.parse(lines[0] ?? "{}")).not.toHaveProperty("identity");
    const quiet = capture("warn");
    accessLogWriter(quiet.log)(entry);
    expect(quiet.lines).toHaveLength(0);
  });
});
