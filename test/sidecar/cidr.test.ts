import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import { cidrSet, type ParsedAddress, parseAddress } from "../../sidecar/cidr.ts";
import { ConfigInvalidError } from "../../sidecar/errors.ts";

const parsed = (text: string): ParsedAddress => {
  const address = parseAddress(text);
  if (address === undefined) throw new Error(`test address ${text} does not parse`);
  return address;
};

describe("parseAddress", () => {
  it.each([
    ["192.0.2.1", 4, [0xc0000201]],
    ["0.0.0.0", 4, [0]],
    ["255.255.255.255", 4, [0xffffffff]],
    ["::ffff:192.0.2.1", 4, [0xc0000201]],
    ["::FFFF:192.0.2.1", 4, [0xc0000201]],
    ["::ffff:c000:201", 4, [0xc0000201]],
    ["0:0:0:0:0:ffff:192.0.2.1", 4, [0xc0000201]],
    ["2001:db8::1", 6, [0x20010db8, 0, 0, 1]],
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", 6, [0x20010db8, 0, 0, 1]],
    ["::1", 6, [0, 0, 0, 1]],
    ["fe80::1%eth0", 6, [0xfe800000, 0, 0, 1]],
  ])("parses %s as IPv%i", (text, family, words) => {
    expect(parseAddress(text)).toEqual({ family, words });
  });

  it.each([
    "",
    "not-an-ip",
    "1.2.3.4.5",
    "256.1.1.1",
    "1.2.3.",
    ".1.2.3",
    "1..2.3",
    "2001:db8::g",
    "1.2.3.4/8",
  ])("refuses %j", (text) => {
    expect(parseAddress(text)).toBeUndefined();
  });

  it("reads leading-zero and short IPv4 forms as ipaddr.js does (the resolver's validator)", () => {
    expect(parseAddress("127.1")).toEqual({ family: 4, words: [0x7f000001] });
    expect(parseAddress("010.0.0.1")).toEqual({ family: 4, words: [0x08000001] });
  });
});

/** What ipaddr.js makes of a text, in parseAddress's shape: the reference for the fast paths. */
function reference(text: string): ParsedAddress | undefined {
  if (!ipaddr.isValid(text)) return undefined;
  const address = ipaddr.process(text);
  if (address.kind() === "ipv4") {
    return { family: 4, words: [Number.parseInt(address.toByteArray().map(hex2).join(""), 16)] };
  }
  const parts = (address as ipaddr.IPv6).parts;
  return {
    family: 6,
    words: [0, 2, 4, 6].map((i) => Number.parseInt(hex4(parts[i]) + hex4(parts[i + 1]), 16)),
  };
}
const hex2 = (byte: number) => byte.toString(16).padStart(2, "0");
const hex4 = (part: number | undefined) => (part ?? 0).toString(16).padStart(4, "0");

describe("parseAddress agrees with ipaddr.js", () => {
  it.each([
    "::",
    "::1",
    "1::",
    "1:2:3:4:5:6:7:8",
    "1::8",
    "1:2:3:4:5:6:7::",
    "::2:3:4:5:6:7:8",
    "1:2:3:4:5:6::8",
    "ABCD:ef01::",
    "::ffff:1.2.3.4",
    "::ffff:0:0",
    "0:0:0:0:0:ffff:ffff:ffff",
    "::1.2.3.4",
    "64:ff9b::192.0.2.1",
    "1:2:3:4:5:6:1.2.3.4",
    "1:2:3:4:5:6:7:8:9",
    ":::",
    "1::2::3",
    "12345::",
    "::ffff:1.2.3",
    "1.2.3.4::",
    "::g",
    ":1::2",
    "1:::2",
    "1:2:3:4:5:6:7:",
    "1:2:3:4:5:6:7:8::",
    "::1.2.3.4:5",
    "::01.2.3.4",
  ])("%s", (text) => {
    expect(parseAddress(text)).toEqual(reference(text));
  });

  it("on random addresses in every written form", () => {
    for (let n = 0; n < 2000; n++) {
      const parts = Array.from({ length: 8 }, () =>
        Math.random() < 0.4 ? 0 : Math.floor(Math.random() * 65536),
      );
      if (n % 4 === 0) parts.splice(0, 6, 0, 0, 0, 0, 0, 0xffff);
      const address = new ipaddr.IPv6(parts);
      for (const text of [address.toString(), address.toNormalizedString(), parts.map(hex4).join(":")]) {
        expect(parseAddress(text), text).toEqual(reference(text));
        expect(parseAddress(text.toUpperCase()), text).toEqual(reference(text));
      }
    }
  });
});

describe("cidrSet", () => {
  it.each([
    ["IPv4 in range", ["10.0.0.0/8"], "10.200.3.4", true],
    ["IPv4 outside range", ["10.0.0.0/8"], "11.0.0.1", false],
    ["IPv4 host bits in the rule are ignored", ["10.1.2.3/8"], "10.9.9.9", true],
    ["bare IPv4 is a /32", ["192.0.2.7"], "192.0.2.7", true],
    ["bare IPv4 is a /32, neighbour", ["192.0.2.7"], "192.0.2.8", false],
    ["IPv4 /0 matches every IPv4", ["0.0.0.0/0"], "203.0.113.1", true],
    ["IPv4 /0 does not match IPv6", ["0.0.0.0/0"], "2001:db8::1", false],
    ["IPv4 /31 boundary", ["192.0.2.0/31"], "192.0.2.1", true],
    ["IPv4 /31 boundary, outside", ["192.0.2.0/31"], "192.0.2.2", false],
    ["high addresses (sign bit)", ["200.0.0.0/5"], "207.255.255.255", true],
    ["high addresses (sign bit), outside", ["200.0.0.0/5"], "208.0.0.0", false],
    ["IPv4-mapped address against an IPv4 rule", ["203.0.113.0/24"], "::ffff:203.0.113.9", true],
    ["hex IPv4-mapped address against an IPv4 rule", ["203.0.113.0/24"], "::ffff:cb00:7109", true],
    ["IPv4 address against an IPv4-mapped rule", ["::ffff:203.0.113.0/120"], "203.0.113.9", true],
    ["IPv4 address against a bare IPv4-mapped rule", ["::ffff:203.0.113.9"], "203.0.113.9", true],
    ["IPv4 address against a hex IPv4-mapped rule", ["::ffff:cb00:7100/120"], "203.0.113.9", true],
    ["IPv4 address outside an IPv4-mapped rule", ["::ffff:203.0.113.0/120"], "203.0.114.9", false],
    ["IPv6 in range", ["2001:db8::/32"], "2001:db8:ffff::1", true],
    ["IPv6 outside range", ["2001:db8::/32"], "2001:db9::1", false],
    ["IPv6 prefix inside the second word", ["2001:db8:abcd:1200::/56"], "2001:db8:abcd:12ff::1", true],
    [
      "IPv6 prefix inside the second word, outside",
      ["2001:db8:abcd:1200::/56"],
      "2001:db8:abcd:1300::1",
      false,
    ],
    ["IPv6 long form against a short rule", ["2001:db8::1"], "2001:0db8:0:0:0:0:0:0001", true],
    ["bare IPv6 is a /128", ["2001:db8::1"], "2001:db8::2", false],
    ["::1 loopback", ["::1/128"], "::1", true],
    ["IPv6 rule does not match IPv4", ["2001:db8::/32"], "32.1.13.184", false],
    ["::/0 covers IPv4-mapped, so every IPv4", ["::/0"], "198.51.100.1", true],
    ["::ffff:0:0/96 is every IPv4", ["::ffff:0:0/96"], "198.51.100.1", true],
    ["fd00::/8 does not cover IPv4", ["fd00::/8"], "10.0.0.1", false],
    ["second rule matches", ["10.0.0.0/8", "fd00::/8"], "fd12::1", true],
    ["zone id ignored", ["fe80::/10"], "fe80::1%eth0", true],
  ])("%s", (_name, cidrs, address, expected) => {
    expect(cidrSet(cidrs).has(parsed(address))).toBe(expected);
  });

  it("an empty set matches nothing", () => {
    const empty = cidrSet([]);
    expect(empty.size).toBe(0);
    expect(empty.has(parsed("10.0.0.1"))).toBe(false);
    expect(empty.has(parsed("::1"))).toBe(false);
  });

  it("lists every invalid entry, with its path", () => {
    const build = () => cidrSet(["10.0.0.0/8", "10.0.0.0/33", "nope", "fd00::/129"], "policies.ipRules.deny");
    expect(build).toThrow(ConfigInvalidError);
    try {
      build();
    } catch (error) {
      expect((error as ConfigInvalidError).problems).toEqual([
        'policies.ipRules.deny[1]: expected a CIDR such as 10.0.0.0/8 or fd00::/8, got "10.0.0.0/33"',
        'policies.ipRules.deny[2]: expected a CIDR such as 10.0.0.0/8 or fd00::/8, got "nope"',
        'policies.ipRules.deny[3]: expected a CIDR such as 10.0.0.0/8 or fd00::/8, got "fd00::/129"',
      ]);
    }
  });
});
