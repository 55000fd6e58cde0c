import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Type } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import { parseConfig, redactBySchema } from "../../sidecar/config.ts";
import { loadConfig } from "../../sidecar/config-file.ts";
import { ConfigInvalidError } from "../../sidecar/errors.ts";

function problemsOf(input: unknown): readonly string[] {
  try {
    parseConfig(input);
  } catch (error) {
    if (error instanceof ConfigInvalidError) return error.problems;
    throw error;
  }
  throw new Error("expected the config to be rejected");
}

describe("parseConfig", () => {
  it("fills every default and freezes the result", () => {
    const config = parseConfig({});
    expect(config.listener).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(config.limits.maxBodyBytes).toBe(10_485_760);
    expect(config.upstream.url).toBe("http://127.0.0.1:8081");
    expect(config.routes).toBeUndefined();
    expect(Object.isFrozen(config.limits)).toBe(true);
    expect(() => {
      (config.limits as { maxBodyBytes: number }).maxBodyBytes = 1;
    }).toThrow();
  });

  it("reports every problem at once, each with its path", () => {
    expect(
      problemsOf({
        limits: { maxBodyBytes: "ten", maxHeaderCount: 0 },
        lsitener: {},
        routes: [{ path: "/a/**/b", methods: ["GET", "FETCH"] }],
        forwarding: { trustedProxies: ["10.0.0.0/33"] },
        upstream: { url: "http://127.0.0.1:3000/app" },
      }),
    ).toEqual([
      "lsitener: unknown key; expected one of listener, admin, upstream, limits, forwarding, paths, routes, policies, drain, log, telemetry, audit, redact",
      "limits.maxHeaderCount: expected a positive integer, got 0",
      'limits.maxBodyBytes: expected a positive integer, got "ten"',
      'routes[0].methods[1]: expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, *, got "FETCH"',
      'forwarding.trustedProxies[0]: expected a CIDR such as 10.0.0.0/8 or fd00::/8, got "10.0.0.0/33"',
      'routes[0].path: `**` may only be the last segment, got "/a/**/b"',
      'upstream.url: expected an http:// URL with host and port and no path, got "http://127.0.0.1:3000/app"',
    ]);
  });

  it("rejects a header timeout longer than the request timeout", () => {
    expect(problemsOf({ limits: { headerReadTimeoutMs: 5000, requestTimeoutMs: 1000 } })).toEqual([
      "limits.headerReadTimeoutMs: expected at most limits.requestTimeoutMs (1000), got 5000",
    ]);
  });
});

describe("loadConfig", () => {
  const dir = mkdtempSync(join(tmpdir(), "podgate-config-"));

  it("reads YAML from --config", () => {
    const file = join(dir, "ok.yaml");
    writeFileSync(file, "limits:\n  maxBodyBytes: 2048 # 2 KiB\nroutes:\n  - path: /api/**\n");
    const config = loadConfig({ file, env: {} });
    expect(config.limits.maxBodyBytes).toBe(2048);
    expect(config.routes).toEqual([{ path: "/api/**", methods: ["*"] }]);
  });

  it("reads JSON from PODGATE_CONFIG when no file is given", () => {
    const config = loadConfig({ env: { PODGATE_CONFIG: '{"listener":{"port":9000}}' } });
    expect(config.listener.port).toBe(9000);
  });

  it("says which source is unreadable and why", () => {
    expect(() => loadConfig({ file: join(dir, "missing.yaml"), env: {} })).toThrow(
      /cannot read config file .*missing\.yaml/,
    );
    expect(() => loadConfig({ env: { PODGATE_CONFIG: "{not json" } })).toThrow(
      /PODGATE_CONFIG is not valid JSON/,
    );
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "limits: [unclosed\n");
    expect(() => loadConfig({ file: bad, env: {} })).toThrow(/bad\.yaml is not valid YAML/);
  });
});

describe("redactBySchema", () => {
  it("replaces values the schema marks secret, at any depth", () => {
    const schema = Type.Object({
      name: Type.String(),
      keys: Type.Array(Type.Object({ id: Type.String(), value: Type.String({ secret: true }) })),
    });
    const redacted = redactBySchema({ name: "n", keys: [{ id: "k1", value: "hunter2" }] }, schema);
    expect(redacted).toEqual({ name: "n", keys: [{ id: "k1", value: "[redacted]" }] });
    expect(JSON.stringify(redacted)).not.toContain("hunter2");
  });
});
