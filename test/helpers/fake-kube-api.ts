/**
 * A local HTTP server that answers like the Kubernetes API server for plain object calls: GET of an
 * object or a list (with an equality labelSelector), POST (409 AlreadyExists), PUT with
 * resourceVersion (409 Conflict when stale) and RFC 6902 PATCH (a failed `test` is 422). No API
 * server can run in these tests; objects live in a map keyed by their API path.
 */
import { writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import fastJsonPatch from "fast-json-patch";

type KubeObject = Record<string, unknown> & {
  metadata?: { name?: string; resourceVersion?: string; labels?: Record<string, string> };
};

/** A canned answer: the status code and JSON body. */
export interface FakeAnswer {
  status: number;
  body: unknown;
}

/** A request as the fake API server saw it. */
export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

/** A running fake API server. */
export interface FakeKubeApi {
  readonly url: string;
  /** Every request, as "METHOD /path?query". */
  readonly requests: string[];
  /** Stores an object in a collection (e.g. "/api/v1/namespaces/shop/pods"), giving it a resourceVersion. */
  seed(collection: string, object: object): void;
  /** The object stored at a path, if any. */
  get(path: string): KubeObject | undefined;
  /** Answers a request before the store does when it returns an answer (to inject conflicts or faults). */
  intercept?: (request: FakeRequest) => FakeAnswer | undefined;
  /** A KubeConfig pointing at this server. */
  kubeConfig(): KubeConfig;
  /** Writes a kubeconfig file pointing at this server. */
  writeKubeconfig(file: string): void;
  close(): Promise<void>;
}

function status(code: number, reason: string, message: string): FakeAnswer {
  return {
    status: code,
    body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", reason, message, code },
  };
}

/** `/api/v1/...` or `/apis/group/version/...`: the segments after the group version. */
function resourceSegments(path: string): string[] {
  const parts = path.split("/").filter((part) => part !== "");
  return parts.slice(parts[0] === "api" ? 2 : 3);
}

/** Whether the path names a collection (list, create) rather than one object. */
function isCollection(path: string): boolean {
  const rest = resourceSegments(path);
  return rest.length === 1 || (rest[0] === "namespaces" && rest.length === 3);
}

function matchesSelector(object: KubeObject, selector: string | null): boolean {
  if (selector === null || selector === "") return true;
  const labels = object.metadata?.labels ?? {};
  return selector.split(",").every((term) => {
    const [key = "", value] = term.split("=");
    return value === undefined ? key in labels : labels[key] === value;
  });
}

class Store {
  readonly objects = new Map<string, KubeObject>();
  private version = 100;

  save(path: string, object: KubeObject): KubeObject {
    const saved = structuredClone(object);
    saved.metadata = { ...saved.metadata, resourceVersion: String(++this.version) };
    this.objects.set(path, saved);
    return saved;
  }

  list(collection: string, query: URLSearchParams): FakeAnswer {
    const items = [...this.objects.entries()]
      .filter(
        ([path]) => path.startsWith(`${collection}/`) && !path.slice(collection.length + 1).includes("/"),
      )
      .map(([, object]) => object)
      .filter((object) => matchesSelector(object, query.get("labelSelector")));
    return { status: 200, body: { metadata: { resourceVersion: String(this.version) }, items } };
  }

  create(collection: string, body: KubeObject): FakeAnswer {
    const path = `${collection}/${body.metadata?.name ?? ""}`;
    if (this.objects.has(path)) return status(409, "AlreadyExists", `${path} already exists`);
    return { status: 201, body: this.save(path, body) };
  }

  replace(path: string, body: KubeObject): FakeAnswer {
    const current = this.objects.get(path);
    if (current === undefined) return status(404, "NotFound", `${path} not found`);
    if (body.metadata?.resourceVersion !== current.metadata?.resourceVersion) {
      return status(
        409,
        "Conflict",
        "the object has been modified; please apply your changes to the latest version",
      );
    }
    return { status: 200, body: this.save(path, body) };
  }

  patch(path: string, contentType: string | undefined, body: unknown): FakeAnswer {
    const current = this.objects.get(path);
    if (current === undefined) return status(404, "NotFound", `${path} not found`);
    if (contentType !== "application/json-patch+json") {
      return status(415, "UnsupportedMediaType", `unexpected patch type ${contentType}`);
    }
    try {
      const next = fastJsonPatch.applyPatch(
        structuredClone(current),
        body as fastJsonPatch.Operation[],
        true,
      );
      return { status: 200, body: this.save(path, next.newDocument) };
    } catch (error) {
      return status(422, "Invalid", (error as Error).message);
    }
  }

  answer(request: FakeRequest, contentType: string | undefined): FakeAnswer {
    const { method, path, body } = request;
    if (isCollection(path)) {
      if (method === "GET") return this.list(path, request.query);
      if (method === "POST") return this.create(path, body as KubeObject);
    } else {
      const object = this.objects.get(path);
      if (method === "GET")
        return object ? { status: 200, body: object } : status(404, "NotFound", `${path} not found`);
      if (method === "PUT") return this.replace(path, body as KubeObject);
      if (method === "PATCH") return this.patch(path, contentType, body);
    }
    return status(405, "MethodNotAllowed", `${method} ${path} is not answered by the fake API server`);
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text === "" ? undefined : JSON.parse(text);
}

function kubeConfigFor(url: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "fake", server: url, skipTLSVerify: true }],
    users: [{ name: "fake", token: "test" }],
    contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
    currentContext: "fake",
  });
  return kubeConfig;
}

/** Starts the fake API server on 127.0.0.1:0 with an empty store. */
export async function startFakeKubeApi(): Promise<FakeKubeApi> {
  const store = new Store();
  const requests: string[] = [];
  const fake: Partial<FakeKubeApi> = {};
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://fake");
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const request = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      body: await readBody(req),
    };
    const contentType = req.headers["content-type"]?.split(";")[0];
    const answer = fake.intercept?.(request) ?? store.answer(request, contentType);
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(fake, {
    url,
    requests,
    seed: (collection: string, object: object) => {
      const name = (object as KubeObject).metadata?.name ?? "";
      store.save(`${collection}/${name}`, object as KubeObject);
    },
    get: (path: string) => store.objects.get(path),
    kubeConfig: () => kubeConfigFor(url),
    // JSON is YAML, so the exported config is a kubeconfig file as it is.
    writeKubeconfig: (file: string) => writeFileSync(file, kubeConfigFor(url).exportConfig()),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as FakeKubeApi;
}
