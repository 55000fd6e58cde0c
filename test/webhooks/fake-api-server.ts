/**
 * A local HTTP server that answers like the Kubernetes API server for what the webhook asks:
 * GET /version and GET /api/v1/namespaces/{name}. No API server runs in these tests.
 */
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { stringify } from "yaml";

/** A running fake API server. */
export interface FakeApiServer {
  url: string;
  /** Requests seen, as "GET /path". */
  requests: string[];
  /** Writes a kubeconfig pointing at this server. */
  writeKubeconfig(file: string): void;
  close(): Promise<void>;
}

/** Starts the fake API server with these namespaces and labels. */
export async function startFakeApiServer(
  namespaces: Record<string, Record<string, string>>,
  version = { major: "1", minor: "31", gitVersion: "v1.31.2" },
): Promise<FakeApiServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const name = /^\/api\/v1\/namespaces\/([^/?]+)$/.exec(req.url ?? "")?.[1];
    const body =
      req.url === "/version"
        ? { ...version, platform: "linux/amd64" }
        : name !== undefined && namespaces[name] !== undefined
          ? { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: namespaces[name] } }
          : undefined;
    res.writeHead(body === undefined ? 404 : 200, { "content-type": "application/json" });
    res.end(
      JSON.stringify(
        body ?? { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 },
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    writeKubeconfig(file) {
      writeFileSync(
        file,
        stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: [{ name: "fake", cluster: { server: url, "insecure-skip-tls-verify": true } }],
          users: [{ name: "fake", user: { token: "test" } }],
          contexts: [{ name: "fake", context: { cluster: "fake", user: "fake" } }],
          "current-context": "fake",
        }),
      );
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
