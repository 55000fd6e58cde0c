import { parseArgs } from "node:util";
import pino from "pino";
import { loadConfig } from "../sidecar/config-file.ts";
import { ConfigInvalidError, PodgateError } from "../sidecar/errors.ts";
import { type RunningSidecar, startSidecar } from "../sidecar/main.ts";

const HELP = `usage: podgate sidecar [--config FILE]

Runs the gateway in front of one app. The config comes from --config FILE (YAML or JSON) or else
from the PODGATE_CONFIG environment variable (JSON). Invalid config exits with code 2 before listening.
SIGTERM or SIGINT drains gracefully; a second signal exits at once.
`;

/** `podgate sidecar`: loads and validates the config, starts the gateway, drains on signals. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } },
    strict: true,
  });
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
  const log = pino({ level: config.log.level, base: { component: "sidecar" } });
  const sidecar = await startSidecar(config, { log });
  return drainOnSignals(sidecar, log);
}

/** Resolves with the exit code once a signal's drain completes; a second signal exits at once. */
function drainOnSignals(sidecar: RunningSidecar, log: pino.Logger): Promise<number> {
  return new Promise((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        log.warn({ signal }, "second signal: exiting at once");
        log.flush();
        process.exit(1);
      }
      signalled = true;
      log.info({ signal }, "signal received: draining");
      sidecar.drain().then(
        () => resolve(0),
        (error: unknown) => {
          log.error({ err: error }, "drain failed");
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}
