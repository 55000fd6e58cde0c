import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { PolicyOutcome, PolicyResponse, RequestContext } from "../../../sidecar/chain.ts";
import { PodgateError } from "../../../sidecar/errors.ts";
import { cors } from "../../../sidecar/policies/cors.ts";
import type { CorsConfig } from "../../../sidecar/policy-config.ts";
import { type EdgeSidecar, send, startEdgeSidecar } from "../../helpers/edge-sidecar.ts";
import { type EchoUpstream, reflect, startEchoUpstream } from "../../helpers/upstream.ts";

const APP = "https://app.example";
const base: CorsConfig = {
  origins: [APP, "https://Admin.Example/"],
  methods: ["GET", "POST", "PUT"],
  headers: ["Content-Type", "x-trace"],
  exposeHeaders: ["x-request-id", "x-total"],
  credentials: true,
  maxAgeSeconds: 300,
};

const contextOf = (method: string, headers: string[]) =>
  ({ method, req: { rawHeaders: headers } }) as unknown as RequestContext;

const evaluate = (config: Partial<CorsConfig>, method: string, ...headers: string[]) => {
  const context = contextOf(method, headers);
  const outcome = cors({ ...base, ...config }).evaluate(context) as PolicyOutcome | PolicyResponse;
  return { outcome, context };
};

const preflight = (origin: string, method: string, requested?: string) => [
  "Origin",
  origin,
  "Access-Control-Request-Method",
  method,
  ...(requested === undefined ? [] : ["Access-Control-Request-Headers", requested]),
];

describe("cors preflight decisions", () => {
  it.each([
    ["listed origin, method and headers", {}, preflight(APP, "PUT", "content-type,x-trace")],
    ["no requested headers", {}, preflight(APP, "POST")],
    ["origin compared case-insensitively", {}, preflight("https://ADMIN.example", "GET")],
    ["header names compared case-insensitively", {}, preflight(APP, "GET", "X-Trace")],
    ["any origin with *", { origins: ["*"], credentials: false }, preflight("https://x.example", "GET")],
    ["any header with *", { headers: ["*"] }, preflight(APP, "GET", "x-anything, x-other")],
    ["lower-case header field names", {}, ["origin", APP, "access-control-request-method", "GET"]],
  ])("answers 204: %s", (_name, config, headers) => {
    const { outcome } = evaluate(config, "OPTIONS", ...headers);
    expect(outcome).toMatchObject({ respond: { status: 204 } });
  });

  it.each([
    ["an unlisted origin", {}, preflight("https://evil.example", "GET"), "the origin is not allowed"],
    ["a look-alike origin", {}, preflight("https://app.example.evil", "GET"), "the origin is not allowed"],
    ["the null origin", {}, preflight("null", "GET"), "the origin is not allowed"],
    ["an unlisted method", {}, preflight(APP, "DELETE"), "the requested method is not allowed"],
    ["a method in the wrong case", {}, preflight(APP, "put"), "the requested method is not allowed"],
    ["an unlisted header", {}, preflight(APP, "GET", "content-type, x-secret"), "x-secret is not allowed"],
    ["authorization under *", { headers: ["*"] }, preflight(APP, "GET", "authorization"), "is not allowed"],
    ["a malformed header list", {}, preflight(APP, "GET", "x trace"), "not a valid token"],
    ["no origins configured", { origins: [] }, preflight(APP, "GET"), "the origin is not allowed"],
    ["two Origin fields", {}, [...preflight(APP, "GET"), "Origin", "https://evil.example"], "repeats"],
  ])("refuses %s with 403 cors-rejected", (_name, config, headers, detail) => {
    const { outcome } = evaluate(config, "OPTIONS", ...headers);
    expect(outcome).toBeInstanceOf(PodgateError);
    expect((outcome as PodgateError).code).toBe("PODGATE_CORS_REJECTED");
    expect((outcome as PodgateError).statusCode).toBe(403);
    expect((outcome as PodgateError).message).toContain(detail);
  });

  it("answers with the configured fields and echoes a listed origin", () => {
    const { outcome } = evaluate({}, "OPTIONS", ...preflight("https://ADMIN.example", "PUT", "content-type"));
    expect((outcome as PolicyResponse).respond.headers).toEqual({
      "access-control-allow-origin": "https://ADMIN.example",
      "access-control-allow-methods": "GET, POST, PUT",
      "access-control-allow-headers": "content-type, x-trace",
      "access-control-allow-credentials": "true",
      "access-control-max-age": "300",
      vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    });
  });

  it("with * headers, echoes the requested names; with * origins, answers *", () => {
    const { outcome } = evaluate(
      { origins: ["*"], headers: ["*"], credentials: false },
      "OPTIONS",
      ...preflight("https://x.example", "GET", "X-One, x-two"),
    );
    const headers = (outcome as PolicyResponse).respond.headers;
    expect(headers["access-control-allow-headers"]).toBe("x-one, x-two");
    expect(headers["access-control-allow-origin"]).toBe("*");
    expect(headers["access-control-allow-credentials"]).toBeUndefined();
  });
});

describe("cors on actual requests", () => {
  const OWNED = [
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-expose-headers",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
  ];

  it.each([
    ["an allowed origin", "GET", ["Origin", APP]],
    ["an OPTIONS without Access-Control-Request-Method (not a preflight)", "OPTIONS", ["Origin", APP]],
  ])("forwards %s with the CORS fields set", (_name, method, headers) => {
    const { outcome, context } = evaluate({}, method, ...headers);
    expect(outcome).toBeUndefined();
    expect(context.responseEdits).toEqual({
      remove: OWNED,
      set: [
        "Access-Control-Allow-Origin",
        APP,
        "Access-Control-Allow-Credentials",
        "true",
        "Access-Control-Expose-Headers",
        "x-request-id, x-total",
      ],
      add: ["Vary", "Origin"],
    });
  });

  it.each([
    ["an unlisted origin", ["Origin", "https://evil.example"]],
    ["no origin", []],
    ["two Origin fields", ["Origin", APP, "Origin", APP]],
  ])("forwards %s without CORS fields, removing the app's", (_name, headers) => {
    const { outcome, context } = evaluate({}, "GET", ...headers);
    expect(outcome).toBeUndefined();
    expect(context.responseEdits).toEqual({ remove: OWNED, set: [], add: ["Vary", "Origin"] });
  });

  it("with * origins, sets * and no Vary", () => {
    const { context } = evaluate(
      { origins: ["*"], credentials: false, exposeHeaders: [] },
      "GET",
      "Origin",
      APP,
    );
    expect(context.responseEdits).toEqual({
      remove: OWNED,
      set: ["Access-Control-Allow-Origin", "*"],
      add: [],
    });
  });
});

describe("cors over real sockets", () => {
  let upstream: EchoUpstream;
  let sidecar: EdgeSidecar;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    sidecar = await startEdgeSidecar(upstream.url, {
      policies: { cors: base },
      routes: [{ path: "/api/**", methods: ["GET", "POST"] }],
    });
    return async () => {
      await sidecar.close();
      await upstream.close();
    };
  });
  afterEach(() => {
    upstream.handler = reflect;
  });

  const preflightTo = (path: string, origin: string, method: string, requested?: string) =>
    send(sidecar, {
      method: "OPTIONS",
      path,
      headers: [
        ["Origin", origin],
        ["Access-Control-Request-Method", method],
        ...(requested === undefined
          ? []
          : [["Access-Control-Request-Headers", requested] as [string, string]]),
      ],
    });

  it("answers an allowed preflight at the gateway with 204, before the route allowlist", async () => {
    const before = upstream.received.length;
    const answer = await preflightTo("/api/orders", APP, "PUT", "content-type");
    expect(answer.status).toBe(204);
    expect(answer.body).toBe("");
    expect(answer.headers).toMatchObject({
      "access-control-allow-origin": APP,
      "access-control-allow-methods": "GET, POST, PUT",
      "access-control-allow-headers": "content-type, x-trace",
      "access-control-allow-credentials": "true",
      "access-control-max-age": "300",
      vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    });
    expect(answer.headers["x-request-id"]).toMatch(/.+/);
    expect(upstream.received).toHaveLength(before);
  });

  it.each([
    ["origin", "https://evil.example", "GET", undefined],
    ["method", APP, "DELETE", undefined],
    ["header", APP, "GET", "x-secret"],
  ])(
    "refuses a preflight with a disallowed %s: 403 problem, no CORS fields",
    async (_what, origin, method, h) => {
      const before = upstream.received.length;
      const answer = await preflightTo("/api/orders", origin, method, h);
      expect(answer.status).toBe(403);
      expect(answer.headers["content-type"]).toBe("application/problem+json");
      expect(JSON.parse(answer.body).type).toBe("https://podgate.io/problems/cors-rejected");
      expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
      expect(upstream.received).toHaveLength(before);
    },
  );

  it("adds the CORS fields to an allowed origin's response, keeping the app's Vary", async () => {
    upstream.handler = (_req, res) => {
      res.writeHead(200, { vary: "Accept-Encoding", "access-control-allow-origin": "*" });
      res.end("ok");
    };
    const answer = await send(sidecar, { path: "/api/orders", headers: [["Origin", APP]] });
    expect(answer.status).toBe(200);
    expect(answer.headers["access-control-allow-origin"]).toBe(APP);
    expect(answer.headers["access-control-allow-credentials"]).toBe("true");
    expect(answer.headers["access-control-expose-headers"]).toBe("x-request-id, x-total");
    expect(answer.headers.vary).toBe("Accept-Encoding, Origin");
  });

  it("forwards a disallowed origin's request without CORS fields, even those the app sent", async () => {
    upstream.handler = (_req, res) => {
      res.writeHead(200, { "access-control-allow-origin": "*", "access-control-allow-credentials": "true" });
      res.end("ok");
    };
    const answer = await send(sidecar, {
      path: "/api/orders",
      headers: [["Origin", "https://evil.example"]],
    });
    expect(answer.status).toBe(200);
    expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
    expect(answer.headers["access-control-allow-credentials"]).toBeUndefined();
    expect(answer.headers.vary).toBe("Origin");
  });

  it("lets an allowed origin's page read a later policy's problem (404 from the allowlist)", async () => {
    const answer = await send(sidecar, { path: "/private", headers: [["Origin", APP]] });
    expect(answer.status).toBe(404);
    expect(answer.headers["access-control-allow-origin"]).toBe(APP);
    expect(answer.headers.vary).toBe("Origin");
  });

  it("forwards an OPTIONS that is not a preflight to the allowlist and the app", async () => {
    const answer = await send(sidecar, {
      method: "OPTIONS",
      path: "/api/orders",
      headers: [["Origin", APP]],
    });
    expect(answer.status).toBe(405);
    expect(answer.headers["access-control-allow-origin"]).toBe(APP);
  });
});
