import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { parseConfig } from "../sidecar/config.ts";
import { loadConfig } from "../sidecar/config-file.ts";
import { ConfigInvalidError, PodgateError } from "../sidecar/errors.ts";
import { createSidecarLogger } from "../sidecar/logger.ts";
import { startSidecar } from "../sidecar/main.ts";
import { createDemoApp } from "./demo-app.ts";

const DEFAULT_CONFIG = new URL("../examples/sidecar.yaml", import.meta.url).pathname;

/**
 * `podgate dev`: the local playground. Starts the demo app on a free loopback port and the gateway
 * in front of it with the example config (or --config FILE), prints curl commands to try, and
 * drains on Ctrl-C. No cluster needed.
 */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string", default: DEFAULT_CONFIG },
      port: { type: "string", default: "8080" },
      "admin-port": { type: "string", default: "9901" },
    },
    strict: true,
  });
  const app = createDemoApp();
  app.listen(0, "127.0.0.1");
  await once(app, "listening");
  const appPort = (app.address() as AddressInfo).port;
  let config: ReturnType<typeof parseConfig>;
  try {
    const base = loadConfig({ file: values.config });
    config = parseConfig({
      ...structuredClone(base),
      listener: { host: "127.0.0.1", port: Number(values.port) },
      admin: { host: "127.0.0.1", port: Number(values["admin-port"]) },
      upstream: { ...base.upstream, url: `http://127.0.0.1:${appPort}` },
      drain: { delayMs: 0, timeoutMs: 5000 },
    });
  } catch (error) {
    app.close();
    if (!(error instanceof PodgateError)) throw error;
    const lines = error instanceof ConfigInvalidError ? error.problems : [error.message];
    process.stderr.write(`podgate dev: invalid config:\n  ${lines.join("\n  ")}\n`);
    return 2;
  }
  const log = createSidecarLogger(config);
  const sidecar = await startSidecar(config, { log });
  process.stdout.write(
    banner(
      `http://127.0.0.1:${sidecar.data.port}`,
      `http://127.0.0.1:${sidecar.admin.port}`,
      appPort,
      values.config,
    ),
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await sidecar.drain();
  app.close();
  return 0;
}

function banner(gateway: string, admin: string, appPort: number, configFile: string): string {
  return `
podgate dev: the gateway at ${gateway} fronts the demo app at http://127.0.0.1:${appPort}
config: ${configFile}

Try:
  curl -i ${gateway}/                          # forwarded to the app
  curl -s ${gateway}/echo -d hello             # the app shows what it got: X-Forwarded-For, Forwarded, x-request-id
  curl -i ${gateway}/admin                     # 404: not in the route allowlist
  curl -i -X DELETE ${gateway}/echo            # 405, with Allow
  curl -i --path-as-is '${gateway}/users/%2e%2e/admin'   # 400: a dot-segment trick
  head -c 2000000 /dev/zero | curl -i ${gateway}/echo --data-binary @-   # 413: over the 1 MiB body limit
  curl -N ${gateway}/events                    # server-sent events stream through
  curl -si ${gateway}/users/7 | grep -i ratelimit   # RateLimit-Policy and RateLimit fields
  for i in $(seq 15); do curl -s -o /dev/null -w "%{http_code} " ${gateway}/users/7; done; echo   # 429 after the burst
  curl -s ${admin}/readyz; curl -s ${admin}/config

Ctrl-C drains and exits. Access log lines follow.
`;
}
