/** The annotation table's parsers and messages. */
import { describe, expect, it } from "vitest";
import { parseAnnotations } from "../../injector/annotation-values.ts";
import { ANNOTATIONS } from "../../injector/annotations.ts";
import {
  formatDuration,
  formatSize,
  isInvalid,
  parseDuration,
  parseRoutes,
  parseSize,
} from "../../injector/parsers.ts";

describe("annotation values", () => {
  it.each([
    ["podgate.io/max-body-size", "1Mi", 1_048_576],
    ["podgate.io/max-body-size", "512Ki", 524_288],
    ["podgate.io/max-body-size", "10M", 10_000_000],
    ["podgate.io/max-body-size", "1500", 1500],
    ["podgate.io/request-timeout", "30s", 30_000],
    ["podgate.io/request-timeout", "250ms", 250],
    ["podgate.io/upstream-timeout", "2m", 120_000],
    ["podgate.io/drain-delay", "0s", 0],
    ["podgate.io/max-header-count", "50", 50],
    ["podgate.io/port", "8080", 8080],
    ["podgate.io/port", "http-api", "http-api"],
    ["podgate.io/inject", "false", false],
    ["podgate.io/trusted-proxies", "10.0.0.0/8, fd00::/8", ["10.0.0.0/8", "fd00::/8"]],
    [
      "podgate.io/routes",
      "/api/** GET,POST; /healthz",
      [
        { path: "/api/**", methods: ["GET", "POST"] },
        { path: "/healthz", methods: ["*"] },
      ],
    ],
    [
      "podgate.io/routes",
      "/a GET\n/b/* DELETE\n",
      [
        { path: "/a", methods: ["GET"] },
        { path: "/b/*", methods: ["DELETE"] },
      ],
    ],
  ])("parses %s: %j", (name, raw, expected) => {
    const parsed = parseAnnotations({ [name]: raw });
    const row = ANNOTATIONS.find((candidate) => candidate.name === name);
    expect(parsed.problems).toEqual([]);
    expect(row && parsed.get(row)).toEqual(expected);
  });

  it.each([
    [
      "podgate.io/max-body-size",
      "0",
      'podgate.io/max-body-size: "0" is not a size (it must be at least 1 byte); expected <bytes>[Ki|Mi|Gi|k|M|G], e.g. "1Mi"',
    ],
    [
      "podgate.io/max-body-size",
      "1.5Mi",
      'podgate.io/max-body-size: "1.5Mi" is not a size; expected <bytes>[Ki|Mi|Gi|k|M|G], e.g. "1Mi"',
    ],
    [
      "podgate.io/request-timeout",
      "30",
      'podgate.io/request-timeout: "30" is not a duration; expected <number><ms|s|m|h>, e.g. "30s"',
    ],
    [
      "podgate.io/request-timeout",
      "0s",
      'podgate.io/request-timeout: "0s" is not a duration (it must be longer than zero); expected <number><ms|s|m|h>, e.g. "30s"',
    ],
    [
      "podgate.io/inject",
      "yes",
      'podgate.io/inject: "yes" is not a boolean; expected "true" or "false", e.g. "false"',
    ],
    [
      "podgate.io/port",
      "HTTP",
      'podgate.io/port: "HTTP" is not a port; expected a port number from 1 to 65535 or a port name, e.g. "http"',
    ],
    [
      "podgate.io/app-port-env",
      "1PORT",
      'podgate.io/app-port-env: "1PORT" is not an environment variable name; expected a name such as PORT or HTTP_PORT, e.g. "HTTP_PORT"',
    ],
    [
      "podgate.io/routes",
      "/a/**/b GET",
      'podgate.io/routes: "/a/**/b GET" is not a route list (route 1: "/a/**/b": `**` may only be the last segment); expected "<path> [METHOD,...] [scopes=<scope>,...] [identities=<id>,...]" entries separated by ";", e.g. "/api/** GET,POST; /admin/** GET,POST scopes=admin; /healthz GET"',
    ],
    [
      "podgate.io/routes",
      "/a GET,GET",
      'podgate.io/routes: "/a GET,GET" is not a route list (route 1: "GET,GET" repeats a method); expected "<path> [METHOD,...] [scopes=<scope>,...] [identities=<id>,...]" entries separated by ";", e.g. "/api/** GET,POST; /admin/** GET,POST scopes=admin; /healthz GET"',
    ],
    [
      "podgate.io/cpu-limit",
      "lots",
      'podgate.io/cpu-limit: "lots" is not a quantity; expected a Kubernetes quantity, e.g. "500m"',
    ],
    [
      "podgate.io/reroute",
      "x",
      "podgate.io/reroute: not a podgate annotation; did you mean podgate.io/routes?",
    ],
  ])("rejects %s: %j with a message naming what was expected", (name, raw, message) => {
    expect(parseAnnotations({ [name]: raw }).problems).toEqual([message]);
  });

  it("lists every problem at once and ignores other prefixes and podgate.io/status", () => {
    const parsed = parseAnnotations({
      "podgate.io/max-body-size": "x",
      "podgate.io/capture": "y",
      "podgate.io/status": "{}",
      "example.com/max-body-size": "x",
    });
    expect(parsed.problems).toHaveLength(2);
  });

  it("has a unique name, an example that parses and a description in every row", () => {
    expect(new Set(ANNOTATIONS.map((row) => row.name)).size).toBe(ANNOTATIONS.length);
    for (const row of ANNOTATIONS) {
      expect(isInvalid(row.parse(row.example)), row.name).toBe(false);
      expect(row.description.length).toBeGreaterThan(10);
    }
  });

  it.each([1_048_576, 8192, 1500, 10_485_760])("round-trips size %d through its format", (bytes) => {
    expect(parseSize(formatSize(bytes))).toBe(bytes);
  });

  it.each([30_000, 250, 120_000, 3_600_000])("round-trips duration %d through its format", (ms) => {
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it("rejects an empty route list", () => {
    expect(parseRoutes(" ; ")).toEqual({ invalid: true, detail: "it lists no routes" });
  });
});
