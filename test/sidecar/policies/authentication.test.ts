import { once } from "node:events";
import { readFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Identity, PolicyOutcome, RequestContext } from "../../../sidecar/chain.ts";
import type { CredentialPolicy } from "../../../sidecar/credential.ts";
import { AuthInvalidError, PodgateError } from "../../../sidecar/errors.ts";
import { authentication } from "../../../sidecar/policies/authentication.ts";
import {
  type CertificateIdentity,
  clientCertificateIdentity,
  type IdentityFrom,
  sanValues,
} from "../../../sidecar/policies/client-certificate.ts";
import { identityPolicies } from "../../../sidecar/policies/identity.ts";
import { createPki, type Pki } from "../../helpers/pki.ts";
import { type PolicySidecar, startPolicySidecar } from "../../helpers/policy-sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

/** A credential check that answers from a table: absent, invalid, or an identity. */
function fakeCredential(
  name: string,
  answer: "absent" | "invalid" | Identity,
  delay = false,
): CredentialPolicy {
  const decide = (context: RequestContext): PolicyOutcome => {
    if (answer === "absent") return undefined;
    if (answer === "invalid") return new AuthInvalidError(`${name} is not valid`);
    context.identity = answer;
    return undefined;
  };
  return {
    name,
    challenge: `${name} realm="podgate"`,
    evaluate: (context) => (delay ? Promise.resolve().then(() => decide(context)) : decide(context)),
  };
}

const context = () => ({ identity: undefined }) as RequestContext;
const alice: Identity = { id: "alice", source: "jwt" };
const service: Identity = { id: "service-a", source: "api-key" };

describe("authentication", () => {
  it("answers 401 with every challenge when no credential is present and one is required", () => {
    const policy = authentication({
      credentials: [fakeCredential("ApiKey", "absent"), fakeCredential("Bearer", "absent")],
    });
    const outcome = policy.evaluate(context()) as PodgateError;
    expect(outcome.code).toBe("PODGATE_AUTH_MISSING");
    expect(outcome.headers?.["www-authenticate"]).toBe('ApiKey realm="podgate", Bearer realm="podgate"');
  });

  it("lets an anonymous request through when not required, but never an invalid credential", () => {
    const anonymous = authentication({ credentials: [fakeCredential("Bearer", "absent")], required: false });
    expect(anonymous.evaluate(context())).toBeUndefined();
    const invalid = authentication({ credentials: [fakeCredential("Bearer", "invalid")], required: false });
    const outcome = invalid.evaluate(context()) as PodgateError;
    expect(outcome.code).toBe("PODGATE_AUTH_INVALID");
    expect(outcome.headers?.["www-authenticate"]).toBe('Bearer realm="podgate"');
  });

  it("refuses a request when one credential is invalid, even if another one is valid", async () => {
    const policy = authentication({
      credentials: [fakeCredential("ApiKey", service), fakeCredential("Bearer", "invalid", true)],
    });
    const outcome = (await policy.evaluate(context())) as PodgateError;
    expect(outcome.code).toBe("PODGATE_AUTH_INVALID");
  });

  it("names the caller by the last verified credential, staying synchronous when every check is", () => {
    const policy = authentication({
      credentials: [fakeCredential("ApiKey", service), fakeCredential("Bearer", alice)],
    });
    const request = context();
    expect(policy.evaluate(request)).toBeUndefined();
    expect(request.identity).toBe(alice);
  });

  it("reports an invalid credential to onInvalid before answering", async () => {
    const onInvalid = vi.fn(() => Promise.resolve());
    const policy = authentication({ credentials: [fakeCredential("Bearer", "invalid", true)], onInvalid });
    const request = context();
    expect(((await policy.evaluate(request)) as PodgateError).statusCode).toBe(401);
    expect(onInvalid).toHaveBeenCalledWith(request);
  });

  it("turns a credential check that throws into a denial", async () => {
    const broken: CredentialPolicy = {
      name: "broken",
      challenge: undefined,
      evaluate: () => {
        throw new Error("boom");
      },
    };
    const outcome = (await authentication({ credentials: [broken] }).evaluate(context())) as PodgateError;
    expect(outcome).toBeInstanceOf(PodgateError);
    expect(outcome.statusCode).toBe(500);
  });
});

describe("sanValues", () => {
  it.each([
    ["URI:spiffe://td/ns/a/sa/b, DNS:b.a.svc", "URI", ["spiffe://td/ns/a/sa/b"]],
    ["DNS:a.example, DNS:b.example", "DNS", ["a.example", "b.example"]],
    ['URI:"spiffe://td/x,DNS:evil.example", DNS:good.example', "DNS", ["good.example"]],
    ['URI:"spiffe://td/x,DNS:evil.example"', "URI", ["spiffe://td/x,DNS:evil.example"]],
    ["IP Address:127.0.0.1", "DNS", []],
  ])("%s (%s)", (san, type, expected) => {
    expect(sanValues(san, type)).toEqual(expected);
  });
});

describe("client certificate identity over a real TLS connection", () => {
  let pki: Pki;
  let other: Pki;
  let server: tls.Server;
  let port: number;
  const seen: Array<Record<IdentityFrom, CertificateIdentity | undefined>> = [];
  const files = {} as Record<
    "server" | "web" | "dnsOnly" | "stranger",
    { certFile: string; keyFile: string }
  >;

  beforeAll(async () => {
    pki = createPki();
    other = createPki("another CA");
    files.server = pki.issue("server", "IP:127.0.0.1", 1);
    files.web = pki.issue("web", "URI:spiffe://cluster.local/ns/shop/sa/web,DNS:web.shop.svc", 2);
    files.dnsOnly = pki.issue("dns-only", "DNS:api.shop.svc", 3);
    files.stranger = other.issue("stranger", "URI:spiffe://cluster.local/ns/shop/sa/web", 4);
    server = tls.createServer({
      cert: readFileSync(files.server.certFile),
      key: readFileSync(files.server.keyFile),
      ca: pki.ca,
      requestCert: true,
      rejectUnauthorized: false,
    });
    server.on("secureConnection", (socket) => {
      seen.push({
        uri: clientCertificateIdentity(socket, "uri"),
        dns: clientCertificateIdentity(socket, "dns"),
      });
      socket.end();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    pki.remove();
    other.remove();
  });

  const connectAs = async (client: keyof typeof files | undefined) => {
    const count = seen.length;
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      ca: pki.ca,
      ...(client === undefined
        ? {}
        : { cert: readFileSync(files[client].certFile), key: readFileSync(files[client].keyFile) }),
    });
    socket.on("error", () => socket.destroy());
    await vi.waitFor(() => expect(seen.length).toBe(count + 1));
    socket.destroy();
    return seen[count];
  };

  it("reads the SAN URI or the DNS name of a verified certificate", async () => {
    expect(await connectAs("web")).toEqual({
      uri: { id: "spiffe://cluster.local/ns/shop/sa/web" },
      dns: { id: "web.shop.svc" },
    });
  });

  it("gives a problem for a verified certificate without the wanted SAN", async () => {
    const result = await connectAs("dnsOnly");
    expect(result?.dns).toEqual({ id: "api.shop.svc" });
    expect(result?.uri).toEqual({ problem: "the client certificate has no URI subject alternative name" });
  });

  it("gives a problem for a certificate from another CA, whatever its SAN says", async () => {
    const result = await connectAs("stranger");
    expect(result?.uri).toEqual({
      problem: "the client certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)",
    });
  });

  it("gives nothing when the client sent no certificate", async () => {
    expect(await connectAs(undefined)).toEqual({ uri: undefined, dns: undefined });
  });
});

describe("client certificates through the TLS data plane", () => {
  let pki: Pki;
  let other: Pki;
  let upstream: EchoUpstream;
  let sidecar: PolicySidecar | undefined;
  const files = {} as Record<"server" | "web" | "stranger", { certFile: string; keyFile: string }>;

  beforeAll(async () => {
    pki = createPki();
    other = createPki("another CA");
    files.server = pki.issue("server", "IP:127.0.0.1", 1);
    files.web = pki.issue("web", "URI:spiffe://cluster.local/ns/shop/sa/web", 2);
    files.stranger = other.issue("stranger", "URI:spiffe://cluster.local/ns/shop/sa/web", 3);
    upstream = await startEchoUpstream();
  });
  afterAll(async () => {
    await upstream.close();
    pki.remove();
    other.remove();
  });
  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
  });

  const get = (port: number, client: "web" | "stranger" | undefined) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const credentials =
        client === undefined
          ? {}
          : { cert: readFileSync(files[client].certFile), key: readFileSync(files[client].keyFile) };
      const req = https.get(
        { host: "127.0.0.1", port, path: "/", agent: false, ca: pki.ca, ...credentials },
        (res) => {
          let body = "";
          res.on("data", (chunk: Buffer) => {
            body += chunk.toString();
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
    });

  it("names the caller by its SPIFFE ID, refuses an untrusted certificate and a missing one", async () => {
    const tlsConfig = {
      certFile: files.server.certFile,
      keyFile: files.server.keyFile,
      clientCaFile: pki.caFile,
      clientCertificates: "optional",
      identityFrom: "uri",
    };
    const overrides = {
      listener: { host: "127.0.0.1", port: 0, tls: tlsConfig },
      routes: [{ path: "/**", identities: ["spiffe://cluster.local/ns/shop/sa/web"] }],
    };
    sidecar = await startPolicySidecar(upstream.url, overrides, ({ config, log, signal }) =>
      identityPolicies(config, { log, signal }),
    );
    expect((await get(sidecar.port, "web")).status).toBe(200);
    const stranger = await get(sidecar.port, "stranger");
    expect(stranger.status).toBe(401);
    expect(JSON.parse(stranger.body).code).toBe("PODGATE_AUTH_INVALID");
    const anonymous = await get(sidecar.port, undefined);
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body).code).toBe("PODGATE_AUTH_MISSING");
  });
});
