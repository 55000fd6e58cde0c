import { describe, expect, it } from "vitest";
import { scanRequestHeaders } from "../../sidecar/request-headers.ts";

describe("scanRequestHeaders", () => {
  it("notes the first traceparent and tracestate and keeps every one for the app (end-to-end headers)", () => {
    const head = scanRequestHeaders([
      "Host",
      "a",
      "TraceParent",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "tracestate",
      "one=1",
      "tracestate",
      "two=2",
      "Connection",
      "keep-alive",
    ]);
    expect(head.traceparent).toBe("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    expect(head.tracestate).toBe("one=1");
    expect(head.upstream).toEqual([
      "Host",
      "a",
      "TraceParent",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "tracestate",
      "one=1",
      "tracestate",
      "two=2",
    ]);
    expect(scanRequestHeaders(["Host", "a"])).toMatchObject({
      traceparent: undefined,
      tracestate: undefined,
    });
  });
});
