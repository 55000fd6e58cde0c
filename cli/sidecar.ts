import { parseArgs } from "node:util";
import pino from "pino";
import { loadConfig } from "../sidecar/config-file.ts";
import { ConfigInvalidError, PodgateError } from "../sidecar/errors.ts";
import { createSidecarLogger } from "../sidecar/logger.ts";
import { startSidecar } from "../sidecar/main.ts";

const HELP = `usage: podgate sidecar [--config FILE]

Runs the gateway in front of one app. The config comes from --config FILE (YAML or JSON) or else
from the PODGATE_CONFIG environment variable (JSON). Invalid config exits with code 2 before listening.
SIGTERM or SIGINT drains gracefully; a second signal exits at once.
`;

/** `podgate sidecar`: loads and validates the config, starts the gateway, drains on signals. */
export async function main(argv: string[]): Promise<number> {
  let values: { config?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`podgate sidecar: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ file: values.config });
  } catch (error) {
    if (!(error instanceof PodgateError)) throw error;
    const lines = error instanceof ConfigInvalidError ? error.problems : [error.message];
    process.stderr.write(`podgate sidecar: invalid config (${error.code}):\n  ${lines.join("\n  ")}\n`);
    return 2;
  }
  // Log lines are written synchronously (pino's default for stdout): the access log batches its
  // own lines (sidecar/access-log.ts), and an asynchronous write costs two thread wake-ups.
  const destination = pino.destination({ dest: 1, sync: true });
  const log = createSidecarLogger(config, destination);
  // Listen for signals before anything listens, so a SIGTERM right after startup still drains.
  const firstSignal = signals(log);
  let sidecar: Awaited<ReturnType<typeof startSidecar>>;
  try {
    sidecar = await startSidecar(config, { log });
  } catch (error) {
    // Key folders, JWKS files and TLS files are read while the policies compile, before listening.
    if (!(error instanceof PodgateError)) throw error;
    process.stderr.write(`podgate sidecar: cannot start (${error.code}): ${error.message}\n`);
    return 2;
  }
  const signal = await firstSignal;
  log.info({ signal }, "signal received: draining");
  try {
    await sidecar.drain();
    return 0;
  } catch (error) {
    log.error({ err: error }, "drain failed");
    return 1;
  }
}

/** Resolves with the first SIGTERM or SIGINT; a second one exits at once with code 1. */
function signals(log: pino.Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        log.warn({ signal }, "second signal: exiting at once");
        process.exit(1);
      }
      signalled = true;
      resolve(signal);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}
