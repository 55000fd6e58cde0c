import { describe, expect, it } from "vitest";
import { newRequestId, takeTraceparent } from "../../sidecar/request-ids.ts";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UNSAMPLED = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/;

describe("request ids", () => {
  it("makes distinct lower-case version 4 UUIDs across several batches", () => {
    const ids = Array.from({ length: 1000 }, () => newRequestId());
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("gives each new id an unsampled traceparent with the id's digits as trace id, once", () => {
    const parents = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const id = newRequestId();
      const traceparent = takeTraceparent(id);
      const [, traceId, parentId] = UNSAMPLED.exec(traceparent ?? "") ?? [];
      expect(traceId).toBe(id.replaceAll("-", ""));
      expect(parentId).not.toBe("0".repeat(16));
      parents.add(parentId ?? "");
      expect(takeTraceparent(id)).toBeUndefined();
    }
    expect(parents.size).toBe(600);
  });

  it("has no traceparent for an id it did not make last, even one it made before", () => {
    const earlier = newRequestId();
    const last = newRequestId();
    expect(takeTraceparent(earlier)).toBeUndefined();
    expect(takeTraceparent("0af76519-16cd-43dd-8448-eb211c80319c")).toBeUndefined();
    expect(takeTraceparent(last)).toMatch(UNSAMPLED);
  });
});
