import { describe, expect, it } from "vitest";
import { scanRequestHeaders } from "../../sidecar/request-headers.ts";

describe("scanRequestHeaders", () => {
  it("notes the first traceparent and tracestate and keeps every one for the app (end-to-end headers)", () => {
    // Trace context headers are end-to-end: all of them go to the app, hop-by-hop ones do not.
    const endToEnd = [
      "Host",
      "a",
      "TraceParent",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "tracestate",
      "one=1",
      "tracestate",
      "two=2",
    ];
    const head = scanRequestHeaders([...endToEnd, "Connection", "keep-alive"]);
    expect(head.traceparent).toBe("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    expect(head.tracestate).toBe("one=1");
    expect(head.upstream).toEqual(endToEnd);
    expect(scanRequestHeaders(["Host", "a"])).toMatchObject({
      traceparent: undefined,
      tracestate: undefined,
    });
  });
});
