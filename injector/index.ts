/**
 * podgate's injector: a Pod, its namespace and the cluster settings in; a decision with its reason,
 * the sidecar spec and an RFC 6902 patch out. Pure (no I/O, clock or randomness), so the webhook and
 * the CLI, which both call it, can never disagree.
 */
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import type { SidecarConfig } from "../sidecar/config.ts";
import { type ParsedAnnotations, parseAnnotations } from "./annotation-values.ts";
import { DRAIN_DELAY, PORT } from "./annotations.ts";
import {
  appPort,
  type CapturePlan,
  findServingPort,
  http2Problem,
  listenerPort,
  planCapture,
} from "./capture.ts";
import type { ConfigDraft } from "./config-path.ts";
import { podSecrets } from "./container.ts";
import {
  alreadyInjectedDecision,
  type InjectContext,
  isInjected,
  optOutDecision,
  podShapeDecision,
  scopeDecision,
  zoneOf,
} from "./gate.ts";
import { canonicalJson, policyHash } from "./hash.ts";
import { mutatePod, portConflict, sidecarDataPort } from "./mutation.ts";
import type { PatchOperation } from "./patch.ts";
import { type CompiledConfig, compileConfig, policyDraft, type ZoneRef } from "./policy.ts";
import { probePathsThroughGateway } from "./probes.ts";
import { type Decision, decide, isCannotReason } from "./reasons.ts";
import { AUDIT_VOLUME, auditMount } from "./secret-mounts.ts";

export type { InjectContext, NamespaceInfo } from "./gate.ts";
export type { PatchOperation } from "./patch.ts";
export type { Decision, ReasonCode } from "./reasons.ts";

/** What injectPod decided and, when it injected, what it changed. */
export interface InjectResult {
  decision: Decision;
  /** Sentences for AdmissionResponse.warnings and the CLI's stderr. */
  warnings: string[];
  /** RFC 6902 operations against the input pod; empty unless injected. */
  patch: PatchOperation[];
  /** The pod after the patch (the input itself when nothing changed). */
  pod: V1Pod;
  /** The sidecar container, when injected. */
  sidecar?: V1Container;
}

/** Skips that say nothing worth a warning: the pod was never meant to be injected. */
const QUIET = new Set(["already_injected", "namespace_not_enabled", "system_namespace"]);

function result(pod: V1Pod, decision: Decision, zone?: ZoneRef): InjectResult {
  let final = decision;
  if (
    decision.action === "skip" &&
    zone !== undefined &&
    !zone.floor.allowOptOut &&
    isCannotReason(decision.reason)
  ) {
    const message = `zone ${zone.name} requires the gateway, but ${decision.message}`;
    final = { action: "deny", reason: decision.reason, message, problems: [message] };
  }
  const warnings =
    final.action === "skip" && !QUIET.has(final.reason) ? [`not injected: ${final.message}`] : [];
  return { decision: final, warnings, patch: [], pod };
}

function denyInvalid(problems: string[]): Decision {
  return decide("invalid_annotations", `${problems.length} invalid podgate annotation(s)`, problems);
}

/** The checks that need neither ports nor capture: scope, opt-out, annotation syntax, zone floor. */
function admit(
  pod: V1Pod,
  context: InjectContext,
  annotations: ParsedAnnotations,
): { decision: Decision; zone?: ZoneRef | undefined } | { policy: ConfigDraft; zone: ZoneRef | undefined } {
  const scope = isInjected(pod) ? alreadyInjectedDecision(pod) : scopeDecision(context, annotations);
  if (scope !== undefined) return { decision: scope };
  const zone = zoneOf(context);
  if (zone !== undefined && "action" in zone) return { decision: zone };
  const optOut = optOutDecision(annotations, zone);
  if (optOut !== undefined) return { decision: optOut, zone };
  if (annotations.problems.length > 0) return { decision: denyInvalid(annotations.problems), zone };
  const shape = podShapeDecision(pod, [
    ...podSecrets(annotations).volumes.map((volume) => volume.name),
    AUDIT_VOLUME,
  ]);
  if (shape !== undefined) return { decision: shape, zone };
  const policy = policyDraft(annotations, zone);
  if (policy.problems.length > 0) {
    return {
      decision: decide(
        "zone_floor_violated",
        `the pod does not meet zone ${zone?.name}'s floor`,
        policy.problems,
      ),
      zone,
    };
  }
  return { policy: policy.draft, zone };
}

function plan(pod: V1Pod, context: InjectContext, annotations: ParsedAnnotations): CapturePlan | Decision {
  const containers = pod.spec?.containers ?? [];
  const serving = findServingPort(containers, annotations.get(PORT));
  if ("reason" in serving) return decide(serving.reason, serving.message);
  const h2 = http2Problem(serving, containers);
  if (h2 !== undefined) return decide(h2.reason, h2.message);
  const capture = planCapture({ containers, serving, annotations, settings: context.settings });
  if ("reason" in capture) return decide(capture.reason, capture.message);
  const conflict = portConflict(pod, capture, context.settings);
  return conflict === undefined ? capture : decide(conflict.reason, conflict.message);
}

/** What a probe passing through the gateway must get past: routes, TLS, authentication. */
function probeGates(config: SidecarConfig): string[] {
  const gates: string[] = [];
  if (config.routes !== undefined) gates.push("podgate.io/routes must allow them");
  const tls = config.listener.tls;
  if (tls?.clientCertificates === "required") {
    gates.push("the listener requires client certificates, which kubelet probes cannot present");
  } else if (tls !== undefined) gates.push("the listener speaks TLS, so they need scheme: HTTPS");
  if (config.policies.authentication?.required === true) {
    gates.push("authentication is required, so they get 401; probe another port or use exec probes");
  }
  return gates;
}

function injectionWarnings(options: {
  pod: V1Pod;
  capture: CapturePlan;
  compiled: CompiledConfig;
}): string[] {
  const { capture, compiled } = options;
  const warnings = [...compiled.warnings];
  if (capture.mode === "named-port") {
    warnings.push(
      `port ${capture.serving.number} is captured by its name ${capture.serving.name}: Services with targetPort: ${capture.serving.name} reach the gateway, a numeric targetPort: ${capture.serving.number} bypasses it`,
    );
  }
  const app = options.pod.spec?.containers[capture.serving.containerIndex];
  const probePaths = app === undefined ? [] : probePathsThroughGateway(app, capture);
  const gates = compiled.config === undefined ? [] : probeGates(compiled.config);
  if (probePaths.length > 0 && gates.length > 0) {
    warnings.push(
      `with iptables capture, HTTP probes (${probePaths.join(", ")}) pass through the gateway; ${gates.join("; ")}`,
    );
  }
  return warnings;
}

/** The podgate.io/status value: injector version, capture mode, sidecar kind and the policy hash. */
function statusAnnotation(options: {
  capture: CapturePlan;
  config: unknown;
  native: boolean;
  version: string;
}): string {
  return canonicalJson({
    capture: options.capture.mode,
    policy: policyHash(options.config),
    sidecar: options.native ? "native" : "container",
    version: options.version,
  });
}

/**
 * Decides whether and how to inject podgate's sidecar into a pod, and returns the RFC 6902 patch.
 * @example injectPod(pod, { settings: parseSettings({}), namespace: { name: "shop", labels: { "podgate.io/inject": "enabled" } }, nativeSidecars: true, injectorVersion: "0.1.0" }).decision.action // "inject"
 */
export function injectPod(pod: V1Pod, context: InjectContext): InjectResult {
  const annotations = parseAnnotations(pod.metadata?.annotations);
  const admitted = admit(pod, context, annotations);
  if ("decision" in admitted) return result(pod, admitted.decision, admitted.zone);
  const { zone } = admitted;
  const capture = plan(pod, context, annotations);
  if ("action" in capture) return result(pod, capture, zone);
  const { settings } = context;
  const compiled = compileConfig(admitted.policy, {
    listenerPort: listenerPort(capture, settings),
    adminPort: settings.sidecar.adminPort,
    appPort: appPort(capture, settings),
    graceSeconds: pod.spec?.terminationGracePeriodSeconds ?? 30,
    drainDelayMs: annotations.get(DRAIN_DELAY),
  });
  if (compiled.config === undefined) return result(pod, denyInvalid(compiled.problems), zone);
  const mutation = applyMutation({ pod, context, annotations, capture, compiled });
  const warnings = injectionWarnings({ pod, capture, compiled });
  const decision = decide(
    "injected",
    `injected with ${capture.mode} capture on port ${capture.serving.number}`,
  );
  return { decision, warnings, patch: mutation.patch, pod: mutation.pod, sidecar: mutation.sidecar };
}

/** Builds the sidecar, its Secret volumes and the status annotation, and applies them to the pod. */
function applyMutation(options: {
  pod: V1Pod;
  context: InjectContext;
  annotations: ParsedAnnotations;
  capture: CapturePlan;
  compiled: CompiledConfig;
}): ReturnType<typeof mutatePod> {
  const { pod, context, annotations, capture, compiled } = options;
  const { settings } = context;
  const native = context.nativeSidecars;
  const status = statusAnnotation({
    capture,
    config: compiled.config,
    native,
    version: context.injectorVersion,
  });
  const secrets = podSecrets(annotations);
  const audit = compiled.config?.audit.enabled ? auditMount(compiled.config.audit.file) : undefined;
  if (audit !== undefined) {
    secrets.volumes.push(audit.volume);
    secrets.mounts.push(audit.mount);
  }
  return mutatePod({
    pod,
    plan: capture,
    volumes: secrets.volumes,
    appPort: appPort(capture, settings),
    status,
    metricsPort: compiled.config?.telemetry.metrics === false ? undefined : settings.sidecar.adminPort,
    sidecar: {
      settings,
      annotations,
      native,
      mounts: secrets.mounts,
      dataPort: sidecarDataPort(capture, settings),
      configJson: JSON.stringify(compiled.draft),
    },
  });
}

/**
 * The validating webhook's checks: every problem with the pod's podgate annotations, its zone floor
 * and opt-out. Empty when the pod is fine. Runs whether or not the pod would be injected.
 */
export function validatePod(pod: V1Pod, context: InjectContext): string[] {
  const annotations = parseAnnotations(pod.metadata?.annotations);
  const scope = scopeDecision({ ...context, explicit: true }, annotations);
  if (scope !== undefined) return [];
  const zone = zoneOf(context);
  if (zone !== undefined && "action" in zone) return zone.problems;
  const problems = [...annotations.problems];
  const optOut = optOutDecision(annotations, zone);
  if (optOut?.action === "deny") problems.push(...optOut.problems);
  const policy = policyDraft(annotations, zone);
  problems.push(...policy.problems);
  if (problems.length > 0) return problems;
  const { sidecar } = context.settings;
  const compiled = compileConfig(policy.draft, {
    listenerPort: sidecar.dataPort,
    adminPort: sidecar.adminPort,
    appPort: sidecar.appPort,
    graceSeconds: pod.spec?.terminationGracePeriodSeconds ?? 30,
    drainDelayMs: undefined,
  });
  return compiled.problems;
}
