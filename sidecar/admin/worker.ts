import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import type {
  AdminAnswer,
  AdminListen,
  AdminListenResult,
  AdminQuestion,
  AdminServeExports,
  AdminWorkerData,
} from "./messages.ts";
import { type AskDataPlane, adminRoutes } from "./routes.ts";

/**
 * The admin plane's thread (started by plane.ts). It serves the admin routes and asks the data
 * plane's thread only for what it alone knows: whether it is alive and draining, and the metrics.
 * It also sends the sidecar's OTLP exports when they are on (telemetry/export-service.ts, loaded then).
 */

if (parentPort === null) throw new Error("sidecar/admin/worker.ts runs only as a worker thread");
const port: MessagePort = parentPort;
const data = workerData as AdminWorkerData;

const waiting = new Map<number, (answer: AdminAnswer | undefined) => void>();
let nextId = 0;

const ask: AskDataPlane = (kind, timeoutMs) =>
  new Promise((resolve) => {
    const id = nextId++;
    const timer = setTimeout(() => {
      waiting.delete(id);
      resolve(undefined);
    }, timeoutMs);
    waiting.set(id, (answer) => {
      clearTimeout(timer);
      resolve(answer);
    });
    port.postMessage({ id, kind } satisfies AdminQuestion);
  });

// Built at once, so fastify loads while the data plane starts; it listens when told to.
const admin = adminRoutes(data, ask);

port.on("message", (message: AdminAnswer | AdminListen | AdminServeExports) => {
  if (message.kind === "listen") {
    listen();
    return;
  }
  if (message.kind === "serve-exports") {
    serveExportsOn(message);
    return;
  }
  const resolve = waiting.get(message.id);
  waiting.delete(message.id);
  resolve?.(message);
});

function listen() {
  admin.listen({ host: data.host, port: data.port }).then(
    () => {
      const address = admin.server.address();
      if (address === null || typeof address === "string") throw new Error("admin plane: no TCP address");
      port.postMessage({ kind: "listening", ...address } satisfies AdminListenResult);
    },
    (error: NodeJS.ErrnoException) => {
      const failed: AdminListenResult = { kind: "listen-failed", code: error.code, message: error.message };
      port.postMessage(failed);
    },
  );
}

function serveExportsOn({ port: exportPort, data: exportData }: AdminServeExports) {
  import("../telemetry/export-service.ts").then(
    ({ serveExports }) => serveExports(exportPort, exportData),
    // Closing the port fails the sidecar's pending exports with a reason, instead of leaving them unanswered.
    () => exportPort.close(),
  );
}
