/** The traffic annotations' syntax: rate limits, quotas, lockout and concurrency, and their messages. */
import { describe, expect, it } from "vitest";
import { parseAnnotations } from "../../injector/annotation-values.ts";
import { isInvalid } from "../../injector/parsers.ts";
import {
  formatConcurrency,
  formatLockout,
  formatQuotas,
  formatRateLimits,
  parseConcurrency,
  parseLockout,
  parseQuotas,
  parseRateLimits,
} from "../../injector/traffic-parsers.ts";

const RATE_EXPECTED =
  'expected <count>/<s|m|h|d> [burst=<count>] [by=ip|identity|global|header:<name>], e.g. "100/s burst=200 by=ip"';

describe("podgate.io/rate-limit", () => {
  it.each([
    [
      "100/s burst=200 by=ip",
      [{ name: "ip", key: "ip", limits: [{ requests: 100, per: "second", burst: 200 }] }],
    ],
    [
      "10/s burst=20, 1000/h",
      [
        {
          name: "ip",
          key: "ip",
          limits: [
            { requests: 10, per: "second", burst: 20 },
            { requests: 1000, per: "hour" },
          ],
        },
      ],
    ],
    [
      "10/s; 5/m by=identity; 2/s routes=/a/**,/b methods=POST,PUT",
      [
        { name: "ip", key: "ip", limits: [{ requests: 10, per: "second" }] },
        { name: "identity", key: "identity", limits: [{ requests: 5, per: "minute" }] },
        {
          name: "ip-2",
          key: "ip",
          limits: [{ requests: 2, per: "second" }],
          routes: ["/a/**", "/b"],
          methods: ["POST", "PUT"],
        },
      ],
    ],
    [
      "1/d by=header:X-Tenant",
      [{ name: "header-x-tenant", key: "header:x-tenant", limits: [{ requests: 1, per: "day" }] }],
    ],
    ["5/s by=global", [{ name: "global", key: "global", limits: [{ requests: 5, per: "second" }] }]],
  ])("parses %j", (raw, expected) => {
    expect(parseRateLimits(raw)).toEqual(expected);
  });

  it.each([
    ["ten/s", ""],
    ["10/x", ""],
    ["10/s burst=0", " (burst must be a whole number of 1 or more)"],
    ["10/s by=user", " (by=user is not ip, identity, global or header:<name>)"],
    ["10/s brust=2", ' ("brust=2" is not an option; options are burst=, by=, routes=, methods=)'],
    ["10/s; ten/s", ' (entry 2: "ten/s" is not a rate)'],
    ["10/s routes=api", ' (route "api" does not start with "/")'],
    ["10/s methods=GET,FETCH", ' ("FETCH" is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)'],
    ["10/s burst=2 burst=3", " (burst= is given twice)"],
    [" ; ", " (it lists no limits)"],
  ])("rejects %j naming what was expected", (raw, detail) => {
    expect(parseAnnotations({ "podgate.io/rate-limit": raw }).problems).toEqual([
      `podgate.io/rate-limit: ${JSON.stringify(raw)} is not a rate${detail}; ${RATE_EXPECTED}`,
    ]);
  });

  it.each(["100/s burst=200 by=ip", "10/s, 1000/h by=identity routes=/api/** methods=GET"])(
    "round-trips %j through its format",
    (raw) => {
      const parsed = parseRateLimits(raw);
      if (isInvalid(parsed)) throw new Error("did not parse");
      expect(parseRateLimits(formatRateLimits(parsed))).toEqual(parsed);
    },
  );
});

describe("podgate.io/quota", () => {
  it.each([
    ["10000/day", [{ name: "identity-day", key: "identity", requests: 10_000, period: "day" }]],
    [
      "100/hour by=ip routes=/search; 5/month; 6/month methods=POST",
      [
        { name: "ip-hour", key: "ip", requests: 100, period: "hour", routes: ["/search"] },
        { name: "identity-month", key: "identity", requests: 5, period: "month" },
        { name: "identity-month-2", key: "identity", requests: 6, period: "month", methods: ["POST"] },
      ],
    ],
  ])("parses %j", (raw, expected) => {
    const parsed = parseQuotas(raw);
    expect(parsed).toEqual(expected);
    if (!isInvalid(parsed)) expect(parseQuotas(formatQuotas(parsed))).toEqual(parsed);
  });

  it.each([
    ["10000/week", ""],
    ["10/day by=nobody", " (by=nobody is not ip, identity, global or header:<name>)"],
  ])("rejects %j", (raw, detail) => {
    expect(parseAnnotations({ "podgate.io/quota": raw }).problems).toEqual([
      `podgate.io/quota: ${JSON.stringify(raw)} is not a quota${detail}; expected <count>/<minute|hour|day|month> [by=ip|identity|global|header:<name>], e.g. "10000/day by=identity"`,
    ]);
  });
});

describe("podgate.io/lockout", () => {
  it("parses failures, window and lock, and writes them back", () => {
    const parsed = parseLockout("10 in 15m lock 30m");
    expect(parsed).toEqual({ maxFailures: 10, windowSeconds: 900, lockSeconds: 1800 });
    if (!isInvalid(parsed)) expect(formatLockout(parsed)).toBe("10 in 15m lock 30m");
  });

  it.each([
    ["ten in 15m lock 30m", ""],
    ["10 in 15 lock 30m", ' (the window "15" is not a duration such as 30s, 15m or 1h)'],
    ["10 in 1500ms lock 30m", ' (the window "1500ms" is not a whole number of seconds)'],
    ["0 in 15m lock 30m", " (the failure count must be a whole number of 1 or more)"],
    ["10 per 15m", ""],
  ])("rejects %j", (raw, detail) => {
    expect(parseAnnotations({ "podgate.io/lockout": raw, "podgate.io/api-keys": "k" }).problems).toEqual([
      `podgate.io/lockout: ${JSON.stringify(raw)} is not a lockout${detail}; expected <failures> in <window> lock <duration>, e.g. "10 in 15m lock 30m"`,
    ]);
  });
});

describe("podgate.io/concurrency", () => {
  it.each([
    ["100", { maxInFlight: 100 }],
    ["100 queue=0 timeout=2s", { maxInFlight: 100, queueSize: 0, queueTimeoutMs: 2000 }],
    [
      "50 adaptive target=100ms min=5",
      { maxInFlight: 50, adaptive: true, targetLatencyMs: 100, minInFlight: 5 },
    ],
  ])("parses %j and writes it back", (raw, expected) => {
    const parsed = parseConcurrency(raw);
    expect(parsed).toEqual(expected);
    if (!isInvalid(parsed)) expect(parseConcurrency(formatConcurrency(parsed))).toEqual(parsed);
  });

  it.each([
    ["0", undefined],
    ["100 queue=-1", "queue must be a whole number, 0 or more"],
    ["100 timeout=soon", "timeout=soon is not a duration such as 500ms or 1s"],
    ["100 target=1s", "target= and min= tune adaptive mode; add adaptive"],
    ["10 adaptive min=20", "min= is above the limit"],
    ["100 turbo", '"turbo" is not an option; options are queue=, timeout=, target=, min=, adaptive'],
  ])("rejects %j", (raw, detail) => {
    expect(parseConcurrency(raw)).toEqual(
      detail === undefined ? { invalid: true } : { invalid: true, detail },
    );
  });
});
