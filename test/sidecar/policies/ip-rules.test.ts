import net from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { PolicyOutcome, RequestContext } from "../../../sidecar/chain.ts";
import { ipRules } from "../../../sidecar/policies/ip-rules.ts";
import { type EdgeSidecar, reflected, send, startEdgeSidecar } from "../../helpers/edge-sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

const decide = (allow: string[], deny: string[], clientAddress: string) =>
  ipRules({ allow, deny }).evaluate({ clientAddress } as RequestContext) as PolicyOutcome;

describe("ipRules decisions", () => {
  it.each([
    ["no allow list: anything not denied passes", [], ["10.0.0.0/8"], "192.0.2.1", true],
    ["a denied IPv4 address", [], ["10.0.0.0/8"], "10.1.2.3", false],
    ["a denied address in IPv4-mapped form", [], ["10.0.0.0/8"], "::ffff:10.1.2.3", false],
    ["a denied address in hex IPv4-mapped form", [], ["10.0.0.0/8"], "::ffff:a01:203", false],
    ["a denied address in long IPv4-mapped form", [], ["10.0.0.0/8"], "0:0:0:0:0:FFFF:10.1.2.3", false],
    ["an IPv4-mapped deny rule refuses the plain address", [], ["::ffff:10.0.0.0/104"], "10.1.2.3", false],
    ["a denied IPv6 address in long form", [], ["2001:db8::/32"], "2001:0db8:0000::0001", false],
    ["a denied IPv6 address with a zone id", [], ["fe80::/10"], "fe80::1%lo", false],
    ["deny wins over allow", ["10.0.0.0/8"], ["10.66.0.0/16"], "10.66.1.1", false],
    ["allowed and not denied", ["10.0.0.0/8"], ["10.66.0.0/16"], "10.65.1.1", true],
    ["not in a non-empty allow list", ["10.0.0.0/8"], [], "11.0.0.1", false],
    ["allowed in IPv4-mapped form", ["10.0.0.0/8"], [], "::ffff:10.0.0.1", true],
    ["allowed IPv6", ["fd00::/8"], [], "fd00::42", true],
    ["an IPv4 allow list refuses IPv6", ["10.0.0.0/8"], [], "fd00::42", false],
    ["an unreadable address is refused", [], ["10.0.0.0/8"], "", false],
    ["a garbage address is refused", ["0.0.0.0/0"], [], "not-an-address", false],
  ])("%s", (_name, allow, deny, address, passes) => {
    const outcome = decide(allow, deny, address);
    if (passes) {
      expect(outcome).toBeUndefined();
    } else {
      expect(outcome?.code).toBe("PODGATE_ACCESS_IP_DENIED");
      expect(outcome?.statusCode).toBe(403);
    }
  });

  it("never reveals the rules in its detail", () => {
    expect(decide([], ["10.0.0.0/8"], "10.0.0.1")?.message).toBe("the client address is denied");
  });
});

describe("ipRules over real sockets", () => {
  let upstream: EchoUpstream;
  let sidecar: EdgeSidecar | undefined;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    return () => upstream.close();
  });
  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
  });

  const start = async (ipRulesConfig: object, extra: object = {}, host?: string) => {
    sidecar = await startEdgeSidecar(upstream.url, { policies: { ipRules: ipRulesConfig }, ...extra }, host);
    return sidecar;
  };

  it.each([
    ["plain IPv4 rule", ["127.0.0.2"]],
    ["IPv4-mapped rule", ["::ffff:127.0.0.2"]],
    ["hex IPv4-mapped rule", ["::ffff:7f00:2"]],
    ["IPv4-mapped CIDR rule", ["::ffff:127.0.0.2/127"]],
  ])("refuses a denied peer (%s) and serves its neighbour", async (_name, deny) => {
    const gateway = await start({ deny });
    const denied = await send(gateway, { localAddress: "127.0.0.2" });
    expect(denied.status).toBe(403);
    expect(denied.headers["content-type"]).toBe("application/problem+json");
    expect(JSON.parse(denied.body).type).toBe("https://podgate.io/problems/ip-denied");
    expect((await send(gateway, { localAddress: "127.0.0.1" })).status).toBe(200);
  });

  it("ignores a forged X-Forwarded-For from an untrusted peer, whichever way it points", async () => {
    const gateway = await start({ allow: ["10.0.0.0/8"], deny: ["127.0.0.2"] });
    const before = upstream.received.length;
    const forgedAllowed = await send(gateway, {
      localAddress: "127.0.0.2",
      headers: [["X-Forwarded-For", "10.1.2.3"]],
    });
    expect(forgedAllowed.status).toBe(403);
    const outsideAllow = await send(gateway, { headers: [["X-Forwarded-For", "10.1.2.3"]] });
    expect(outsideAllow.status).toBe(403);
    expect(upstream.received).toHaveLength(before);
  });

  it("a forged denied address in X-Forwarded-For does not refuse an honest client", async () => {
    const gateway = await start({ deny: ["203.0.113.0/24"] });
    const answer = await send(gateway, { headers: [["X-Forwarded-For", "203.0.113.9"]] });
    expect(answer.status).toBe(200);
    expect(reflected(answer).headers["x-forwarded-for"]).toBe("127.0.0.1");
  });

  it("judges the address a trusted proxy forwarded, in any IPv6 form", async () => {
    const gateway = await start(
      { deny: ["203.0.113.0/24"] },
      { forwarding: { trustedProxies: ["127.0.0.1"] } },
    );
    for (const client of ["203.0.113.9", "::ffff:203.0.113.9", "::ffff:cb00:7109"]) {
      const answer = await send(gateway, { headers: [["X-Forwarded-For", `198.51.100.1, ${client}`]] });
      expect(answer.status, client).toBe(403);
    }
    expect((await send(gateway, { headers: [["X-Forwarded-For", "198.51.100.1"]] })).status).toBe(200);
  });

  describe("over IPv6", () => {
    let ipv6 = true;
    beforeAll(async () => {
      ipv6 = await canListen("::1");
      if (!ipv6) console.log("skipping IPv6 socket tests: cannot listen on ::1 here");
    });

    it("refuses ::1 in any written form and allows it when listed", async ({ skip }) => {
      if (!ipv6) skip("::1 is not available");
      for (const deny of ["::1", "0:0:0:0:0:0:0:1/128", "::/64"]) {
        const gateway = await start({ deny: [deny] }, {}, "::1");
        expect((await send(gateway)).status, deny).toBe(403);
        await gateway.close();
        sidecar = undefined;
      }
      const open = await start({ allow: ["::1/128"] }, {}, "::1");
      expect((await send(open)).status).toBe(200);
    });

    it("sees IPv4 clients of a dual-stack listener as IPv4", async ({ skip }) => {
      if (!(await canListen("::"))) skip("cannot listen on :: (dual stack) here");
      const gateway = await start({ deny: ["127.0.0.2/32"] }, {}, "::");
      expect((await send(gateway, { host: "127.0.0.1", localAddress: "127.0.0.2" })).status).toBe(403);
      expect((await send(gateway, { host: "127.0.0.1", localAddress: "127.0.0.1" })).status).toBe(200);
      expect((await send(gateway, { host: "::1" })).status).toBe(200);
    });
  });
});

function canListen(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(0, host, () => server.close(() => resolve(true)));
  });
}
