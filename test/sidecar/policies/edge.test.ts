import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../../sidecar/config.ts";
import { edgePolicies } from "../../../sidecar/policies/edge.ts";
import { type EdgeSidecar, send, startEdgeSidecar } from "../../helpers/edge-sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

const names = (policies: Record<string, unknown>) =>
  edgePolicies(parseConfig({ upstream: { url: "http://127.0.0.1:3000" }, policies })).map((p) => p.name);

describe("edgePolicies", () => {
  it.each([
    ["no policies", {}, []],
    ["empty sections", { ipRules: {}, headers: { request: {}, response: {} } }, []],
    ["IP rules only", { ipRules: { deny: ["10.0.0.0/8"] } }, ["ip-rules"]],
    ["CORS only, even with no origins", { cors: {} }, ["cors"]],
    [
      "all three, in their fixed order whatever the config order",
      {
        cors: { origins: ["*"] },
        ipRules: { allow: ["10.0.0.0/8"] },
        headers: { response: { remove: ["server"] } },
      },
      ["header-rules", "ip-rules", "cors"],
    ],
  ])("%s: %j", (_name, policies, expected) => {
    expect(names(policies)).toEqual(expected);
  });
});

describe("edge policies together, over real sockets", () => {
  let upstream: EchoUpstream;
  let sidecar: EdgeSidecar;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    sidecar = await startEdgeSidecar(upstream.url, {
      policies: {
        headers: { response: { set: { "strict-transport-security": "max-age=63072000" } } },
        ipRules: { deny: ["127.0.0.2"] },
        cors: { origins: ["https://app.example"], methods: ["GET", "PUT"] },
      },
      routes: [{ path: "/api/**", methods: ["GET"] }],
    });
    return async () => {
      await sidecar.close();
      await upstream.close();
    };
  });

  const preflight = (localAddress: string) =>
    send(sidecar, {
      method: "OPTIONS",
      path: "/api/things",
      localAddress,
      headers: [
        ["Origin", "https://app.example"],
        ["Access-Control-Request-Method", "PUT"],
      ],
    });

  it("answers a preflight with the header rules' response edits", async () => {
    const answer = await preflight("127.0.0.1");
    expect(answer.status).toBe(204);
    expect(answer.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect(answer.headers["strict-transport-security"]).toBe("max-age=63072000");
  });

  it("refuses a denied address before CORS can answer its preflight", async () => {
    const answer = await preflight("127.0.0.2");
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body).type).toBe("https://podgate.io/problems/ip-denied");
    expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
    expect(answer.headers["strict-transport-security"]).toBe("max-age=63072000");
  });

  it("logs the decision of each request", async () => {
    await send(sidecar, { path: "/api/x", localAddress: "127.0.0.2" });
    const denied = sidecar.logs.filter((line) => line.msg === "access" && line.client === "127.0.0.2");
    expect(denied.at(-1)?.decision).toBe("deny:ip-rules");
  });
});
