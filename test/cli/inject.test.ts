/** `podgate inject` and `podgate lint`, in-process with in-memory streams, and once through the real dispatcher. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml, stringify } from "yaml";
import { main as inject } from "../../cli/inject.ts";
import { main as lint } from "../../cli/lint.ts";
import { memoryIo } from "./io.ts";

const REPO = join(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "podgate-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pod = (name: string, annotations: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "shop", annotations },
  spec: {
    containers: [{ name: "app", image: "example/app:1", ports: [{ name: "http", containerPort: 8080 }] }],
  },
});
const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "api", namespace: "shop" },
  spec: {
    selector: { matchLabels: { app: "api" } },
    template: { metadata: { labels: { app: "api" } }, spec: pod("x").spec },
  },
};
const configMap = {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "c", namespace: "shop" },
  data: { a: "b" },
};

const MTLS = {
  "podgate.io/tls-secret": "pay-tls",
  "podgate.io/client-ca-secret": "mesh-ca",
  "podgate.io/client-certificates": "required",
};

function yamlDocs(...objects: object[]): string {
  return objects.map((object) => stringify(object)).join("---\n");
}

/** What the tests read from output documents. */
interface OutObject {
  kind?: string;
  items: OutObject[];
  spec: NonNullable<V1Pod["spec"]> & { template: { spec?: V1Pod["spec"] } };
}

function outputObjects(text: string): OutObject[] {
  return parseAllDocuments(text).map((doc) => doc.toJS() as OutObject);
}

function containerNames(object: { spec?: V1Pod["spec"] }): string[] {
  return [...(object.spec?.initContainers ?? []), ...(object.spec?.containers ?? [])].map((c) => c.name);
}

describe("podgate inject", () => {
  it("injects Pods and workload templates from multi-document YAML and leaves other kinds untouched", async () => {
    const io = memoryIo(yamlDocs(pod("web"), deployment, configMap));
    expect(await inject(["-"], io)).toBe(0);
    const [outPod, outDeployment, outConfigMap] = outputObjects(io.out);
    expect(containerNames(outPod ?? {})).toEqual(["podgate", "app"]);
    expect(containerNames(outDeployment?.spec.template ?? {})).toEqual(["podgate", "app"]);
    expect(outConfigMap).toEqual(configMap);
  });

  it("reads kubectl's JSON List output and injects every item", async () => {
    const list = {
      apiVersion: "v1",
      kind: "List",
      items: [deployment, configMap],
      metadata: { resourceVersion: "" },
    };
    const file = join(dir, "list.json");
    writeFileSync(file, JSON.stringify(list));
    const io = memoryIo();
    expect(await inject(["-f", file], io)).toBe(0);
    const [out] = outputObjects(io.out);
    expect(out?.kind).toBe("List");
    expect(containerNames(out?.items[0]?.spec.template ?? {})).toEqual(["podgate", "app"]);
    expect(out?.items[1]).toEqual(configMap);
  });

  it("leaves a pod that opts out alone and says so on stderr", async () => {
    const io = memoryIo(yamlDocs(pod("batch", { "podgate.io/inject": "false" })));
    expect(await inject([], io)).toBe(0);
    expect(containerNames(outputObjects(io.out)[0] ?? {})).toEqual(["app"]);
    expect(io.err).toContain(
      'Pod shop/batch: not injected: the pod opts out with podgate.io/inject: "false"',
    );
  });

  it("fails with the validating webhook's messages on invalid annotations and writes nothing", async () => {
    const io = memoryIo(yamlDocs(pod("bad", { "podgate.io/max-body-size": "huge" })));
    expect(await inject(["-"], io)).toBe(1);
    expect(io.out).toBe("");
    expect(io.err).toBe(
      'podgate: Pod shop/bad: podgate.io/max-body-size: "huge" is not a size; expected <bytes>[Ki|Mi|Gi|k|M|G], e.g. "1Mi"\n',
    );
  });

  it("applies a zone's floor with --zone: fills in its limits and rejects a pod without routes or mTLS", async () => {
    const ok = memoryIo(yamlDocs(pod("pay", { "podgate.io/routes": "/pay POST", ...MTLS })));
    expect(await inject(["--zone", "pci"], ok)).toBe(0);
    const out = outputObjects(ok.out)[0];
    const sidecar = out?.spec.initContainers?.[0];
    const config = JSON.parse(sidecar?.env?.find((e) => e.name === "PODGATE_CONFIG")?.value ?? "{}");
    expect(config.limits.maxBodyBytes).toBe(1_048_576);
    expect(config.log.accessLog).toBe(true);
    expect(config.policies.lockout).toEqual({ maxFailures: 10, windowSeconds: 900, lockSeconds: 1800 });
    expect(out?.spec.volumes?.map((volume) => volume.name)).toEqual([
      "podgate-tls",
      "podgate-client-ca",
      "podgate-audit",
    ]);
    const denied = memoryIo(yamlDocs(pod("pay")));
    expect(await inject(["--zone", "pci"], denied)).toBe(1);
    expect(denied.err).toContain("podgate.io/routes: zone pci requires a route allowlist");
    expect(denied.err).toContain("zone pci requires mTLS: set podgate.io/tls-secret");
  });

  it("uses the cluster settings from --settings", async () => {
    const settings = join(dir, "settings.yaml");
    writeFileSync(
      settings,
      stringify({ nativeSidecars: "never", sidecar: { image: "registry.local/podgate:dev" } }),
    );
    const io = memoryIo(yamlDocs(pod("web")));
    expect(await inject(["--settings", settings], io)).toBe(0);
    const out = outputObjects(io.out)[0];
    expect(out?.spec.containers[0]?.image).toBe("registry.local/podgate:dev");
    expect(out?.spec.initContainers).toBeUndefined();
  });

  it("rejects invalid settings with every problem", async () => {
    const settings = join(dir, "bad-settings.yaml");
    writeFileSync(settings, stringify({ nativeSidecars: "sometimes", sidecar: { dataPort: 70000 } }));
    await expect(inject(["--settings", settings], memoryIo(""))).rejects.toThrow(
      /nativeSidecars: expected one of auto, always, never[\s\S]*sidecar.dataPort: expected a port/,
    );
  });

  it("answers a usage error with exit code 2", async () => {
    const io = memoryIo();
    expect(await inject(["a.yaml", "b.yaml"], io)).toBe(2);
    expect(io.err).toContain("usage: podgate inject");
  });
});

describe("podgate lint", () => {
  it("prints every problem and exits 1", async () => {
    const io = memoryIo(
      yamlDocs(pod("a", { "podgate.io/capture": "x" }), pod("b", { "podgate.io/port": "99999" })),
    );
    expect(await lint(["-"], io)).toBe(1);
    expect(io.out.trim().split("\n")).toEqual([
      '<stdin>: Pod shop/a: podgate.io/capture: "x" is not a capture mode; expected auto, port-env, named-port, iptables, e.g. "named-port"',
      '<stdin>: Pod shop/b: podgate.io/port: "99999" is not a port (port numbers run from 1 to 65535); expected a port number from 1 to 65535 or a port name, e.g. "http"',
    ]);
  });

  it("exits 0 on clean manifests", async () => {
    const io = memoryIo(yamlDocs(pod("a", { "podgate.io/max-body-size": "2Mi" }), deployment));
    expect(await lint(["-"], io)).toBe(0);
    expect(io.out).toBe("");
  });

  it("checks zone floors with --zone", async () => {
    const hipaa = { "podgate.io/tls-secret": "a-tls", "podgate.io/api-keys": "a-keys" };
    const io = memoryIo(
      yamlDocs(pod("a", { "podgate.io/routes": "/** *", "podgate.io/max-body-size": "2Mi", ...hipaa })),
    );
    expect(await lint(["--zone", "hipaa"], io)).toBe(0);
    const plain = memoryIo(yamlDocs(pod("a", { "podgate.io/routes": "/** *" })));
    expect(await lint(["--zone", "hipaa"], plain)).toBe(1);
    expect(plain.out.trim().split("\n")).toEqual([
      "<stdin>: Pod shop/a: zone hipaa requires TLS: set podgate.io/tls-secret",
      "<stdin>: Pod shop/a: zone hipaa requires authentication: set podgate.io/api-keys, a JWT issuer (podgate.io/jwt-issuer) or client certificates (podgate.io/client-certificates)",
    ]);
    const strict = memoryIo(
      yamlDocs(pod("a", { "podgate.io/routes": "/** *", "podgate.io/max-body-size": "2Mi" })),
    );
    expect(await lint(["--zone", "pci"], strict)).toBe(1);
    expect(strict.out).toContain(`podgate.io/max-body-size: "2Mi" loosens zone pci's floor`);
  });
});

describe("the podgate binary", () => {
  it("pipes: podgate inject - reads stdin and writes YAML that parses", () => {
    const run = spawnSync(process.execPath, [join(REPO, "cli/podgate.ts"), "inject", "-"], {
      input: yamlDocs(deployment),
      encoding: "utf8",
    });
    expect(run.stderr).toContain("Deployment shop/api: port 8080 is captured by its name http");
    expect(run.status).toBe(0);
    expect(containerNames(parseYaml(run.stdout).spec.template)).toEqual(["podgate", "app"]);
  });

  it("exits non-zero from podgate lint on a bad annotation", () => {
    const run = spawnSync(process.execPath, [join(REPO, "cli/podgate.ts"), "lint"], {
      input: yamlDocs(pod("a", { "podgate.io/routes": "" })),
      encoding: "utf8",
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('podgate.io/routes: "" is not a route list (it lists no routes)');
  });
});
