import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../../sidecar/chain.ts";
import { ConfigInvalidError } from "../../../sidecar/errors.ts";
import { hasHeaderRules, headerRules } from "../../../sidecar/policies/header-rules.ts";
import type { HeaderRulesConfig } from "../../../sidecar/policy-config.ts";
import { type EdgeSidecar, send, startEdgeSidecar } from "../../helpers/edge-sidecar.ts";
import { type EchoUpstream, reflect, startEchoUpstream } from "../../helpers/upstream.ts";

const edits = (
  add: Record<string, string> = {},
  set: Record<string, string> = {},
  remove: string[] = [],
) => ({
  add,
  set,
  remove,
});

const rules: HeaderRulesConfig = {
  request: edits({ "X-Tag": "gateway" }, { "X-Env": "prod" }, ["x-debug"]),
  response: edits({ "X-Served-By": "podgate" }, { "X-Frame-Options": "DENY" }, ["server", "x-powered-by"]),
};

const contextOf = (...rawHeaders: string[]) => ({ req: { rawHeaders } }) as unknown as RequestContext;

describe("headerRules decisions", () => {
  it("copies the compiled edits into each request's edits, both directions", () => {
    const policy = headerRules(rules);
    const first = contextOf();
    const second = contextOf();
    expect(policy.evaluate(first)).toBeUndefined();
    policy.evaluate(second);
    expect(first.upstreamEdits).toEqual({
      set: ["X-Env", "prod"],
      add: ["X-Tag", "gateway"],
      remove: ["x-debug"],
    });
    expect(first.responseEdits).toEqual({
      set: ["X-Frame-Options", "DENY"],
      add: ["X-Served-By", "podgate"],
      remove: ["server", "x-powered-by"],
    });
    first.upstreamEdits?.set.push("X-Other", "1");
    expect(second.upstreamEdits?.set).toEqual(["X-Env", "prod"]);
  });

  it("appends to edits earlier policies made", () => {
    const context = contextOf();
    context.upstreamEdits = { set: ["x-user", "alice"], add: [], remove: [] };
    headerRules(rules).evaluate(context);
    expect(context.upstreamEdits.set).toEqual(["x-user", "alice", "X-Env", "prod"]);
  });

  it.each([
    ["X_Debug", "x-debug removed"],
    ["x_DEBUG", "x-debug removed, any case"],
    ["X_Env", "x-env set"],
  ])("removes the client's underscore twin %s (%s)", (twin) => {
    const context = contextOf("X_Debug", "1", twin, "2", "X_Other", "3");
    headerRules(rules).evaluate(context);
    expect(context.upstreamEdits?.remove).toContain(twin);
    expect(context.upstreamEdits?.remove).not.toContain("X_Other");
  });

  it("a configured name with _ also removes its all-dash twin", () => {
    const context = contextOf();
    headerRules({ request: edits({}, {}, ["x_internal"]) }).evaluate(context);
    expect(context.upstreamEdits?.remove).toEqual(["x_internal", "x-internal"]);
  });

  it("rejects, at compile time, every field that cannot be edited", () => {
    const build = () =>
      headerRules({
        request: edits({ "Bad Name": "x" }, { "Content-Length": "0" }, ["transfer-encoding"]),
        response: edits({}, { "x-ok": "line\r\nbreak" }, ["Connection"]),
      });
    expect(build).toThrow(ConfigInvalidError);
    try {
      build();
    } catch (error) {
      expect((error as ConfigInvalidError).problems).toEqual([
        'policies.headers.request.add.Bad Name: expected a header name token and a value without control characters, got "Bad Name"',
        'policies.headers.request.set.Content-Length: "Content-Length" carries framing or hop-by-hop meaning and cannot be edited',
        'policies.headers.request.remove[0]: "transfer-encoding" carries framing or hop-by-hop meaning and cannot be edited',
        'policies.headers.response.set.x-ok: expected a header name token and a value without control characters, got "x-ok"',
        'policies.headers.response.remove[0]: "Connection" carries framing or hop-by-hop meaning and cannot be edited',
      ]);
    }
  });

  it.each([
    [undefined, false],
    [{}, false],
    [{ request: edits(), response: edits() }, false],
    [{ response: edits({}, {}, ["server"]) }, true],
  ])("hasHeaderRules(%j) is %s", (config, expected) => {
    expect(hasHeaderRules(config)).toBe(expected);
  });
});

describe("headerRules over real sockets", () => {
  let upstream: EchoUpstream;
  let sidecar: EdgeSidecar;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    sidecar = await startEdgeSidecar(upstream.url, {
      policies: { headers: rules, ipRules: { deny: ["127.0.0.2"] } },
    });
    return async () => {
      await sidecar.close();
      await upstream.close();
    };
  });
  afterEach(() => {
    upstream.handler = reflect;
  });

  const namesSent = () => {
    const raw = upstream.received.at(-1)?.rawHeaders ?? [];
    return raw.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
  };

  it("edits the request: removed in any case or spelling, set replaces, add appends", async () => {
    const answer = await send(sidecar, {
      headers: [
        ["X-Debug", "1"],
        ["x-DEBUG", "2"],
        ["X_Debug", "3"],
        ["X-Env", "evil"],
        ["x_env", "evil"],
        ["X-Tag", "client"],
      ],
    });
    expect(answer.status).toBe(200);
    const received = upstream.received.at(-1);
    expect(namesSent()).not.toContain("x-debug");
    expect(namesSent()).not.toContain("x_debug");
    expect(namesSent()).not.toContain("x_env");
    expect(received?.headers["x-env"]).toBe("prod");
    expect(received?.headers["x-tag"]).toBe("client, gateway");
  });

  it("a client cannot smuggle a removed header through Connection or repetition", async () => {
    await send(sidecar, {
      headers: [
        ["Connection", "keep-alive, x-env"],
        ["X-Debug", "1"],
        ["X-Debug", "2"],
      ],
    });
    expect(namesSent()).not.toContain("x-debug");
    expect(upstream.received.at(-1)?.headers["x-env"]).toBe("prod");
  });

  it("edits the app's response: removed, set, added", async () => {
    upstream.handler = (_req, res) => {
      res.writeHead(200, { server: "app/1.0", "x-powered-by": "express", "x-frame-options": "SAMEORIGIN" });
      res.end("ok");
    };
    const answer = await send(sidecar);
    expect(answer.status).toBe(200);
    expect(answer.headers.server).toBeUndefined();
    expect(answer.headers["x-powered-by"]).toBeUndefined();
    expect(answer.headers["x-frame-options"]).toBe("DENY");
    expect(answer.headers["x-served-by"]).toBe("podgate");
  });

  it("edits the gateway's own problem responses too (they run before IP rules)", async () => {
    const before = upstream.received.length;
    const answer = await send(sidecar, { localAddress: "127.0.0.2" });
    expect(answer.status).toBe(403);
    expect(answer.headers["x-frame-options"]).toBe("DENY");
    expect(answer.headers["x-served-by"]).toBe("podgate");
    expect(upstream.received).toHaveLength(before);
  });
});
