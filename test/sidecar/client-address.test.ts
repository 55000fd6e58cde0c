import { describe, expect, it } from "vitest";
import { clientAddressResolver } from "../../sidecar/client-address.ts";

describe("clientAddressResolver", () => {
  const trusting = clientAddressResolver(["10.0.0.0/8", "fd00::/8", "127.0.0.1"]);

  it.each([
    [
      "without trusted proxies, the socket peer even when X-Forwarded-For says otherwise",
      [],
      "203.0.113.9",
      "1.2.3.4",
      "203.0.113.9",
    ],
    ["unwraps IPv4-mapped peers", [], "::ffff:203.0.113.9", undefined, "203.0.113.9"],
  ])("returns %s", (_name, cidrs, peer, xff, expected) => {
    expect(clientAddressResolver(cidrs).resolve(peer, xff)).toBe(expected);
  });

  it.each([
    ["an untrusted peer's forged X-Forwarded-For is ignored", "203.0.113.9", "1.2.3.4", "203.0.113.9"],
    ["a trusted peer: the right-most untrusted entry", "10.1.1.1", "1.2.3.4, 198.51.100.7", "198.51.100.7"],
    [
      "trusted hops are skipped from the right",
      "10.1.1.1",
      "6.6.6.6, 198.51.100.7, 10.2.2.2",
      "198.51.100.7",
    ],
    ["IPv4-mapped trusted peer", "::ffff:10.1.1.1", "198.51.100.7", "198.51.100.7"],
    ["IPv6 trusted peer", "fd00::1", "2001:db8::5", "2001:db8::5"],
    ["all hops trusted: the left-most", "10.1.1.1", "10.9.9.9, 10.2.2.2", "10.9.9.9"],
    ["garbage entry: stop at the last trusted hop", "10.1.1.1", "1.1.1.1, not-an-ip, 10.2.2.2", "10.2.2.2"],
    ["no header from a trusted peer: the peer", "10.1.1.1", undefined, "10.1.1.1"],
  ])("%s", (_name, peer, xff, expected) => {
    expect(trusting.resolve(peer, xff)).toBe(expected);
  });

  it("tells trusted peers from others", () => {
    expect(trusting.trusts("::ffff:10.3.3.3")).toBe(true);
    expect(trusting.trusts("127.0.0.1")).toBe(true);
    expect(trusting.trusts("127.0.0.2")).toBe(false);
    expect(clientAddressResolver([]).trusts("10.0.0.1")).toBe(false);
  });
});
