import pino from "pino";
import { type AdminPlane, prepareAdminPlane } from "../../sidecar/admin/plane.ts";
import { parseConfig } from "../../sidecar/config.ts";
import { capturingStream } from "./log-lines.ts";

/** An admin plane alone (no data plane), listening on 127.0.0.1:0, with its log lines captured. */
export interface TestAdminPlane {
  readonly plane: AdminPlane;
  readonly url: string;
  readonly lines: Record<string, unknown>[];
}

/** Starts an admin plane with metrics off, whose data plane is "this thread, not draining". */
export async function startTestAdminPlane(): Promise<TestAdminPlane> {
  const config = parseConfig({ admin: { host: "127.0.0.1", port: 0 }, telemetry: { metrics: false } });
  const { stream, lines } = capturingStream();
  const state = { draining: false, inFlight: 0 };
  const plane = await prepareAdminPlane({ config, state, log: pino(stream) }).listen(undefined);
  return { plane, lines, url: `http://127.0.0.1:${plane.address.port}` };
}
