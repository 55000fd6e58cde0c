import { describe, expect, it } from "vitest";
import {
  jsonStringRoom,
  writeJsonString,
  writeMilliseconds,
  writeRaw,
  writeUint,
} from "../../sidecar/json-bytes.ts";

/** What a writer put into a fresh buffer, as text. */
function written(write: (buffer: Buffer, position: number) => number, room = 1024): string {
  const buffer = Buffer.alloc(room + 8, 0x2a);
  const end = write(buffer, 4);
  expect(buffer.subarray(0, 4).toString()).toBe("****");
  expect(buffer[end]).toBe(0x2a);
  return buffer.toString("utf8", 4, end);
}

describe("writeJsonString", () => {
  it.each([
    ["empty", ""],
    ["plain path", "/api/v1/items?x=1"],
    ["quote and backslash", 'a"b\\c'],
    ["control characters", "line\nbreak\ttab\u0000nul\u001fus"],
    ["DEL and Latin-1", "\u007f caf\u00e9"],
    ["CJK and emoji", "\u6771\u4eac \u{1f600}"],
    ["lone surrogate", "bad \ud800 half"],
    ["HTML-looking", "<script>alert(1)</script>"],
  ])("writes %s exactly as JSON.stringify does", (_name, text) => {
    const json = written((buffer, at) => writeJsonString(buffer, at, text), jsonStringRoom(text));
    expect(json).toBe(JSON.stringify(text));
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(jsonStringRoom(text));
  });
});

describe("writeUint", () => {
  it.each([
    0,
    7,
    10,
    99,
    200,
    65_535,
    2 ** 31 - 1,
    2 ** 31,
    100_000_000,
    1_000_000_007,
    100_000_000_000,
    1_764_000_000_123,
    1_764_000_000_000,
    Number.MAX_SAFE_INTEGER,
  ])("writes %d", (value) => {
    expect(written((buffer, at) => writeUint(buffer, at, value))).toBe(JSON.stringify(value));
  });

  it("agrees with JSON.stringify on 10,000 integers of every length up to 2^53", () => {
    for (let i = 0; i < 10_000; i++) {
      const value = Math.floor(Math.random() * 2 ** ((i % 53) + 1));
      expect(written((buffer, at) => writeUint(buffer, at, value))).toBe(JSON.stringify(value));
    }
  });
});

describe("writeMilliseconds", () => {
  it.each([0, 0.0004, 0.0005, 0.001, 0.01, 0.1, 1, 1.25, 2.5, 10.05, 123.456, 99_999.9994, 3_600_000.125])(
    "writes %d ms as JSON.stringify(Math.round(ms * 1000) / 1000)",
    (ms) => {
      expect(written((buffer, at) => writeMilliseconds(buffer, at, ms))).toBe(
        JSON.stringify(Math.round(ms * 1000) / 1000),
      );
    },
  );

  it("agrees with JSON.stringify on 10,000 durations spread over 0-2,000 ms", () => {
    let seed = 42;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (let i = 0; i < 10_000; i++) {
      const ms = next() * 2000;
      const text = written((buffer, at) => writeMilliseconds(buffer, at, ms));
      if (text !== JSON.stringify(Math.round(ms * 1000) / 1000)) expect({ ms, text }).toBeUndefined();
    }
  });
});

describe("writeRaw", () => {
  it("copies bytes and returns the position after them", () => {
    expect(written((buffer, at) => writeRaw(buffer, at, Buffer.from('"msg":')))).toBe('"msg":');
  });
});
