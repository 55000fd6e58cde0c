/**
 * `podgate check`, webhook half: the two webhook configurations exist, point at a Service with
 * ready endpoints, and carry a caBundle that verifies the serving certificate. The certificate is
 * read from its Secret (the webhook pods' `--certificate-secret`, or the Secret volume mounted where
 * `--tls-cert` points), not from a TLS connection to the Service, which a laptop cannot reach.
 */
import { X509Certificate } from "node:crypto";
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  type V1EndpointSlice,
  type V1MutatingWebhook,
  type V1Pod,
  type V1ValidatingWebhook,
} from "@kubernetes/client-node";
import { PREFIX } from "../injector/annotations.ts";
import { expiresWithin, issuedBy, parseCertificate, splitBundle } from "../webhooks/pki.ts";
import { type CheckContext, type Finding, finding, guard, hasStatus } from "./check-report.ts";

type Webhook = V1MutatingWebhook | V1ValidatingWebhook;

/** A webhook configuration as the checks see it. */
export interface WebhookConfig {
  kind: "mutating" | "validating";
  name: string;
  webhooks: Webhook[];
}

/** A Service a webhook entry calls. */
export interface ServiceRef {
  namespace: string;
  name: string;
}

/** Days before expiry from which a certificate is reported. */
export const EXPIRY_WARN_DAYS = 30;

/** Whether an entry is podgate's: its namespaceSelector names a podgate.io/ label. */
function selectsPodgate(webhook: Webhook): boolean {
  return JSON.stringify(webhook.namespaceSelector ?? {}).includes(PREFIX);
}

async function findConfigs(context: CheckContext, kind: WebhookConfig["kind"]): Promise<WebhookConfig[]> {
  const api = context.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const wanted = kind === "mutating" ? context.mutatingWebhook : context.validatingWebhook;
  const list =
    kind === "mutating"
      ? await api.listMutatingWebhookConfiguration()
      : await api.listValidatingWebhookConfiguration();
  return list.items
    .map((item) => ({ kind, name: item.metadata?.name ?? "", webhooks: (item.webhooks ?? []) as Webhook[] }))
    .filter((config) =>
      wanted === undefined ? config.webhooks.some(selectsPodgate) : config.name === wanted,
    );
}

/** Finds both webhook configurations: a FAIL for each kind that is missing. */
export async function checkConfigurations(
  context: CheckContext,
): Promise<{ findings: Finding[]; configs: WebhookConfig[] }> {
  const configs: WebhookConfig[] = [];
  const findings: Finding[] = [];
  for (const kind of ["mutating", "validating"] as const) {
    const check = `${kind} webhook configuration`;
    const found = await guard(check, async () => {
      const matches = await findConfigs(context, kind);
      configs.push(...matches);
      if (matches.length === 0) {
        const wanted = kind === "mutating" ? context.mutatingWebhook : context.validatingWebhook;
        const what = wanted ?? `one whose namespaceSelector uses ${PREFIX} labels`;
        return [finding("FAIL", check, `not found (${what}); is the chart installed?`)];
      }
      return matches.map((config) => {
        const policies = [...new Set(config.webhooks.map((w) => w.failurePolicy ?? "Fail"))].join("/");
        return finding(
          "PASS",
          check,
          `${config.name}: ${config.webhooks.length} webhooks, failurePolicy ${policies}`,
        );
      });
    });
    findings.push(...found);
  }
  return { findings, configs };
}

/** The distinct Services the entries call; entries with a URL are reported instead. */
export function serviceRefs(configs: WebhookConfig[]): { refs: ServiceRef[]; findings: Finding[] } {
  const refs = new Map<string, ServiceRef>();
  const findings: Finding[] = [];
  for (const config of configs) {
    for (const webhook of config.webhooks) {
      const service = webhook.clientConfig.service;
      if (service === undefined) {
        const check = `${config.kind} webhook ${webhook.name}`;
        findings.push(
          finding("WARN", check, `calls ${webhook.clientConfig.url ?? "no Service"}; not checked`),
        );
        continue;
      }
      refs.set(`${service.namespace}/${service.name}`, { namespace: service.namespace, name: service.name });
    }
  }
  return { refs: [...refs.values()], findings };
}

function readyEndpoints(slices: V1EndpointSlice[]): number {
  return slices
    .flatMap((slice) => slice.endpoints ?? [])
    .filter((endpoint) => endpoint.conditions?.ready !== false).length;
}

/** The Service exists and has ready endpoints; returns the EndpointSlices for the Secret lookup. */
export async function checkService(
  context: CheckContext,
  ref: ServiceRef,
): Promise<{ finding: Finding; slices: V1EndpointSlice[] }> {
  const check = `webhook Service ${ref.namespace}/${ref.name}`;
  try {
    await context.kubeConfig.makeApiClient(CoreV1Api).readNamespacedService(ref);
  } catch (error) {
    if (!hasStatus(error, 404)) throw error;
    return { finding: finding("FAIL", check, "not found"), slices: [] };
  }
  const labelSelector = `kubernetes.io/service-name=${ref.name}`;
  const discovery = context.kubeConfig.makeApiClient(DiscoveryV1Api);
  const slices = (await discovery.listNamespacedEndpointSlice({ namespace: ref.namespace, labelSelector }))
    .items;
  const ready = readyEndpoints(slices);
  if (ready > 0) return { finding: finding("PASS", check, `${ready} ready endpoints`), slices };
  const down =
    "no ready endpoints: every webhook replica is down, so zone namespaces refuse new pods and others start without the gateway";
  return { finding: finding("FAIL", check, down), slices };
}

function argValue(args: string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  if (index >= 0) return args[index + 1];
  return args.find((arg) => arg.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

/** The Secret a webhook pod serves from: its `--certificate-secret`, else the Secret volume holding `--tls-cert`. */
export function servingSecretOf(pod: V1Pod): string | undefined {
  for (const container of pod.spec?.containers ?? []) {
    const args = [...(container.command ?? []), ...(container.args ?? [])];
    const managed = argValue(args, "--certificate-secret");
    if (managed !== undefined) return managed;
    const certFile = argValue(args, "--tls-cert");
    const mount = (container.volumeMounts ?? []).find((m) => certFile?.startsWith(`${m.mountPath}/`));
    const volume = pod.spec?.volumes?.find((v) => v.name === mount?.name);
    if (volume?.secret?.secretName !== undefined) return volume.secret.secretName;
  }
  return undefined;
}

async function servingSecretName(
  context: CheckContext,
  ref: ServiceRef,
  slices: V1EndpointSlice[],
): Promise<string | undefined> {
  if (context.certificateSecret !== undefined) return context.certificateSecret;
  const podName = slices.flatMap((s) => s.endpoints ?? []).find((e) => e.targetRef?.kind === "Pod")
    ?.targetRef?.name;
  if (podName === undefined) return undefined;
  const core = context.kubeConfig.makeApiClient(CoreV1Api);
  return servingSecretOf(await core.readNamespacedPod({ namespace: ref.namespace, name: podName }));
}

/** Reads the serving certificate from its Secret; a finding when it cannot. */
export async function servingCertificate(
  context: CheckContext,
  ref: ServiceRef,
  slices: V1EndpointSlice[],
): Promise<X509Certificate | Finding> {
  const check = "serving certificate";
  const name = await servingSecretName(context, ref, slices);
  if (name === undefined) {
    return finding("WARN", check, "cannot tell which Secret holds it; pass --certificate-secret NAME");
  }
  const secret = await context.kubeConfig
    .makeApiClient(CoreV1Api)
    .readNamespacedSecret({ namespace: ref.namespace, name });
  const pem = Buffer.from(secret.data?.["tls.crt"] ?? "", "base64").toString("utf8");
  return parseCertificate(pem) ?? finding("FAIL", check, `Secret ${ref.namespace}/${name} has no tls.crt`);
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Every entry's caBundle verifies `serving`, which names the Service and is not about to expire. */
export function checkCaBundle(options: {
  config: WebhookConfig;
  serving: X509Certificate;
  ref: ServiceRef;
  now: Date;
}): Finding {
  const { config, serving, ref, now } = options;
  const check = `caBundle of ${config.kind} ${config.name}`;
  const dnsName = `${ref.name}.${ref.namespace}.svc`;
  if (serving.checkHost(dnsName) === undefined)
    return finding("FAIL", check, `the serving certificate does not name ${dnsName}`);
  const cas: X509Certificate[] = [];
  for (const webhook of config.webhooks) {
    const bundle = splitBundle(Buffer.from(webhook.clientConfig.caBundle ?? "", "base64").toString("utf8"));
    const ca = bundle.find((candidate) => issuedBy(serving, candidate));
    if (ca === undefined)
      return finding("FAIL", check, `entry ${webhook.name} does not trust the serving certificate`);
    cas.push(ca);
  }
  const expiries = [serving, ...cas]
    .map((cert) => cert.validToDate)
    .sort((a, b) => a.getTime() - b.getTime());
  const first = expiries[0] ?? serving.validToDate;
  const message = `verifies the serving certificate for ${dnsName}; the chain expires on ${day(first)}`;
  if (expiresWithin(serving, now, 0) || first.getTime() <= now.getTime())
    return finding("FAIL", check, message);
  if ([serving, ...cas].some((cert) => expiresWithin(cert, now, EXPIRY_WARN_DAYS))) {
    return finding("WARN", check, `${message}, within ${EXPIRY_WARN_DAYS} days`);
  }
  return finding("PASS", check, message);
}

/** The whole webhook half of `podgate check`. */
export async function checkWebhooks(context: CheckContext): Promise<Finding[]> {
  const { findings, configs } = await checkConfigurations(context);
  const { refs, findings: urlFindings } = serviceRefs(configs);
  findings.push(...urlFindings);
  for (const ref of refs) {
    const results = await guard(`webhook Service ${ref.namespace}/${ref.name}`, async () => {
      const service = await checkService(context, ref);
      const serving = await servingCertificate(context, ref, service.slices);
      if (!(serving instanceof X509Certificate)) return [service.finding, serving];
      const callers = configs.filter((c) =>
        c.webhooks.some((w) => w.clientConfig.service?.name === ref.name),
      );
      return [
        service.finding,
        ...callers.map((config) => checkCaBundle({ config, serving, ref, now: context.now })),
      ];
    });
    findings.push(...results);
  }
  return findings;
}
