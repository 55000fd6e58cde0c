#!/usr/bin/env node
/**
 * The `podgate` CLI: the one entry point for every component (the container images call it too).
 * Each subcommand lives in its own module, loaded only when it runs, and returns an exit code.
 */

interface Command {
  summary: string;
  load: () => Promise<{ main: (argv: string[]) => Promise<number> }>;
}

const COMMANDS: Record<string, Command> = {
  sidecar: {
    summary: "run the gateway beside an app: --config FILE (or PODGATE_CONFIG)",
    load: () => import("./sidecar.ts"),
  },
  dev: {
    summary: "local playground: a demo app behind the gateway, no cluster needed",
    load: () => import("./dev.ts"),
  },
  inject: {
    summary: "add the sidecar to manifests: [-f FILE | -] [--zone NAME] [--settings FILE]",
    load: () => import("./inject.ts"),
  },
  lint: {
    summary: "check podgate annotations offline: [-f FILE | -] [--zone NAME] [--settings FILE]",
    load: () => import("./lint.ts"),
  },
  webhook: {
    summary: "run the admission webhooks: --tls-cert FILE --tls-key FILE [--port N] [--settings FILE]",
    load: () => import("./webhook.ts"),
  },
  audit: {
    summary: "check an audit log's hash chain: verify FILE [--prev HASH]",
    load: () => import("./audit.ts"),
  },
  check: { summary: "check an installation with the current kubeconfig", load: () => import("./check.ts") },
  version: { summary: "print the version", load: () => import("./version.ts") },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: podgate <command> [options]\n\ncommands:\n${lines.join("\n")}\n`;
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`podgate: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.main(rest);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`podgate: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
