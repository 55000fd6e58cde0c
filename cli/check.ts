/**
 * `podgate check [--settings FILE] [--mutating-webhook NAME] [--validating-webhook NAME]
 * [--certificate-secret NAME]`: checks an installation with the current kubeconfig
 * (KUBECONFIG, else ~/.kube/config, else the in-cluster service account). One PASS, WARN or FAIL
 * line per check, then a summary; exit code 1 when any check fails, 2 on bad options.
 *
 * FAIL: a webhook configuration is missing, its Service has no ready endpoints, its caBundle does not
 * verify the serving certificate or the certificate has expired, a pod in a zone namespace runs
 * without the sidecar, a Service's targetPort bypasses the gateway. WARN: no labelled namespace, a
 * certificate expiring within 30 days, a pod without the sidecar outside zones, a pod the injector
 * cannot inject, a pod running an older sidecar version.
 */
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { type CheckContext, type Finding, finding, guard, report } from "./check-report.ts";
import { checkWebhooks } from "./check-webhooks.ts";
import { checkPods, checkServices, labelledNamespaces } from "./check-workloads.ts";
import { type CliIo, PROCESS_IO } from "./manifests.ts";
import { loadSettings } from "./settings-file.ts";
import { VERSION } from "./version.ts";

const USAGE = `usage: podgate check [--settings FILE] [--mutating-webhook NAME] [--validating-webhook NAME]
                     [--certificate-secret NAME]
`;

/** Runs every check against the cluster in `context` and returns the findings in report order. */
export async function runChecks(context: CheckContext): Promise<Finding[]> {
  const findings = await checkWebhooks(context);
  let namespaces: Awaited<ReturnType<typeof labelledNamespaces>>["namespaces"] = [];
  findings.push(
    ...(await guard("labelled namespaces", async () => {
      const result = await labelledNamespaces(context);
      namespaces = result.namespaces;
      return result.findings;
    })),
  );
  for (const namespace of namespaces) {
    const name = namespace.metadata?.name ?? "";
    findings.push(
      ...(await guard(`pods in ${name}`, async () => {
        const pods = await checkPods(context, namespace);
        const services = await guard(`services in ${name}`, () => checkServices(context, name, pods.pods));
        return [...pods.findings, ...services];
      })),
    );
  }
  return findings;
}

function parseCheckOptions(argv: string[]): Omit<CheckContext, "kubeConfig" | "version" | "now"> {
  const text = { type: "string" } as const;
  const { values } = parseArgs({
    args: argv,
    options: {
      settings: text,
      "mutating-webhook": text,
      "validating-webhook": text,
      "certificate-secret": text,
    },
  });
  const context: Omit<CheckContext, "kubeConfig" | "version" | "now"> = {
    settings: loadSettings(values.settings),
  };
  if (values["mutating-webhook"] !== undefined) context.mutatingWebhook = values["mutating-webhook"];
  if (values["validating-webhook"] !== undefined) context.validatingWebhook = values["validating-webhook"];
  if (values["certificate-secret"] !== undefined) context.certificateSecret = values["certificate-secret"];
  return context;
}

/** `podgate check`: returns the exit code (0 nothing failed, 1 a check failed, 2 bad options). */
export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  let options: ReturnType<typeof parseCheckOptions>;
  try {
    options = parseCheckOptions(argv);
  } catch (error) {
    io.stderr(`podgate check: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromDefault();
  } catch (error) {
    io.stdout(report([finding("FAIL", "kubeconfig", (error as Error).message)]).text);
    return 1;
  }
  io.stdout(`podgate check ${VERSION}: cluster ${kubeConfig.getCurrentCluster()?.server ?? "(none)"}\n`);
  const findings = await runChecks({ ...options, kubeConfig, version: VERSION, now: new Date() });
  const { text, exitCode } = report(findings);
  io.stdout(text);
  return exitCode;
}
