/**
 * The transport and authentication a zone requires, enforced on the merged config: TLS (a serving
 * certificate), mTLS (plus a client CA and required client certificates) and a credential method
 * (API keys, JWT or client certificates). A pod that lacks one is denied, naming the floor.
 */
import { CREDENTIALS } from "./annotation-checks.ts";
import { type ConfigDraft, getPath, setPath } from "./config-path.ts";

/** What a zone requires of transport and authentication. */
export interface ZoneRequirements {
  tls: "none" | "tls" | "mtls";
  authentication: "optional" | "required";
}

/** How each transport requirement is met, and the sentence when it is not. */
const TRANSPORT = {
  tls: "requires TLS: set podgate.io/tls-secret",
  mtls: 'requires mTLS: set podgate.io/tls-secret, podgate.io/client-ca-secret and podgate.io/client-certificates: "required"',
} as const;

function transportMet(required: ZoneRequirements["tls"], config: ConfigDraft): boolean {
  if (required === "none") return true;
  const served = getPath(config, "listener.tls.certFile") !== undefined;
  if (required === "tls") return served;
  return (
    served &&
    getPath(config, "listener.tls.clientCaFile") !== undefined &&
    getPath(config, "listener.tls.clientCertificates") === "required"
  );
}

/** Whether the config has a credential method: API keys, JWT or client certificates. */
export function configHasCredential(config: ConfigDraft): boolean {
  const certificates = getPath(config, "listener.tls.clientCertificates");
  return (
    getPath(config, "policies.apiKeys") !== undefined ||
    getPath(config, "policies.jwt") !== undefined ||
    certificates === "optional" ||
    certificates === "required"
  );
}

/**
 * Checks a merged config against a zone's requirements, and turns `authentication: required` into
 * `policies.authentication.required: true` (a pod may not set it to false). Mutates `config`.
 */
export function requirementProblems(zone: string, required: ZoneRequirements, config: ConfigDraft): string[] {
  const problems: string[] = [];
  if (required.tls !== "none" && !transportMet(required.tls, config)) {
    problems.push(`zone ${zone} ${TRANSPORT[required.tls]}`);
  }
  if (required.authentication !== "required") return problems;
  if (!configHasCredential(config)) {
    problems.push(`zone ${zone} requires authentication: set ${CREDENTIALS}`);
  }
  if (getPath(config, "policies.authentication.required") === false) {
    problems.push(`podgate.io/auth-required: "false" loosens zone ${zone}'s floor (authentication required)`);
  }
  setPath(config, "policies.authentication.required", true);
  return problems;
}
