import { afterEach, describe, expect, it, vi } from "vitest";
import {
  formatTraceparent,
  parseTraceparent,
  unsampledTraceparent,
} from "../../../sidecar/telemetry/traceparent.ts";

const SHAPE = /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/;

describe("traceparent", () => {
  afterEach(() => vi.restoreAllMocks());

  it("parses a version-00 value and formats it back, keeping only the sampled flag", () => {
    const value = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const parsed = parseTraceparent(` ${value} `);
    expect(parsed).toEqual({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: 1,
      isRemote: true,
    });
    expect(formatTraceparent(parsed ?? { traceId: "", spanId: "", traceFlags: 0 })).toBe(value);
    expect(formatTraceparent({ traceId: "a".repeat(32), spanId: "b".repeat(16), traceFlags: 3 })).toBe(
      `00-${"a".repeat(32)}-${"b".repeat(16)}-01`,
    );
  });

  it.each([
    ["another version", "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
    ["upper-case digits", "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"],
    ["an all-zero trace id", `00-${"0".repeat(32)}-b7ad6b7169203331-01`],
    ["an all-zero parent id", `00-0af7651916cd43dd8448eb211c80319c-${"0".repeat(16)}-01`],
    ["a short trace id", "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01"],
  ])("refuses %s", (_, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it("mints the trace id from a lower-case UUID request id and a random parent id", () => {
    const minted = unsampledTraceparent("0af76519-16cd-43dd-8448-eb211c80319c");
    expect(minted).toMatch(SHAPE);
    expect(minted.slice(3, 35)).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(parseTraceparent(minted)?.traceFlags).toBe(0);
  });

  it.each([
    ["not a UUID", "order-42"],
    ["the all-zero UUID", "00000000-0000-0000-0000-000000000000"],
    ["an upper-case UUID", "0AF76519-16CD-43DD-8448-EB211C80319C"],
    ["a UUID with its dashes moved", "0af7651916cd-43dd-8448-eb21-1c80319c"],
    ["36 characters with a non-hex digit", "0af76519-16cd-43dd-8448-eb211c80319g"],
  ])("mints a random trace id when the request id is %s", (_, requestId) => {
    const minted = unsampledTraceparent(requestId);
    expect(minted).toMatch(SHAPE);
    expect(minted.slice(3, 35)).not.toBe(requestId.toLowerCase().replaceAll("-", ""));
    expect(parseTraceparent(minted)).toBeDefined();
  });

  it("never mints an all-zero id, even when every random draw is zero", () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const minted = unsampledTraceparent("order-42");
    expect(minted).toBe(`00-${"0".repeat(31)}1-${"0".repeat(15)}1-00`);
    expect(parseTraceparent(minted)).toBeDefined();
  });

  it("mints each value from its own request id and a new parent id, though the buffer is reused", () => {
    const first = unsampledTraceparent("0af76519-16cd-43dd-8448-eb211c80319c");
    const second = unsampledTraceparent("11111111-2222-4333-8444-555555555555");
    expect(first.slice(3, 35)).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(second.slice(3, 35)).toBe("11111111222243338444555555555555");
    expect(first.slice(36, 52)).not.toBe(second.slice(36, 52));
    const parents = new Set(Array.from({ length: 1000 }, () => unsampledTraceparent("x").slice(36, 52)));
    expect(parents.size).toBe(1000);
  });
});
