import type { Logger } from "pino";
import type { Policy } from "../chain.ts";
import type { SidecarConfig } from "../config.ts";
import { type CredentialPolicy, challengesOf } from "../credential.ts";
import { memoryLockoutStore } from "../store/lockout-memory.ts";
import { apiKeys } from "./api-keys.ts";
import { authentication } from "./authentication.ts";
import { clientCertificate } from "./client-certificate.ts";
import { claimedSubject, jwtAuth } from "./jwt-auth.ts";
import { type LockoutStore, lockout } from "./lockout.ts";
import { routeAuthorization, routeHasRequirements } from "./route-authorization.ts";

/** What the identity policies need besides the config. */
export interface IdentityDeps {
  log: Logger;
  /** The clock, in ms since the epoch (lockout, JWT claims, JWKS cache); default Date.now. */
  now?: () => number;
  /** Where lockout counters live; default a bounded in-memory store. */
  lockoutStore?: LockoutStore;
  /** How often key folders and JWKS files are re-read without a change event, in ms; default 30 000. */
  rescanMs?: number;
  /** Stops the file watchers when aborted (on shutdown). */
  signal?: AbortSignal;
}

/**
 * Compiles the identity policies from config, in the order they run: `lockout` (when
 * `policies.lockout` is set and a credential method exists), `authentication` (when any credential
 * method is configured: client certificates from `listener.tls`, `policies.apiKeys`, `policies.jwt`),
 * then `route-authorization` (when a route names `scopes` or `identities`). Empty when none is
 * configured. Authentication is required when `policies.authentication.required` says so, and by
 * default whenever a credential method is configured. Key folders and JWKS files are read here:
 * an unreadable one throws.
 * @example const policies = identityPolicies(config, { log }) // [lockout, authentication, route-authorization]
 */
export function identityPolicies(config: SidecarConfig, deps: IdentityDeps): Policy[] {
  const credentials = credentialPolicies(config, deps);
  const policies: Policy[] = [];
  if (credentials.length > 0) {
    const guard =
      config.policies.lockout === undefined
        ? undefined
        : lockout(config.policies.lockout, {
            store: deps.lockoutStore ?? memoryLockoutStore(),
            log: deps.log,
            now: deps.now,
            claimedPrincipal: config.policies.jwt === undefined ? undefined : claimedSubject,
          });
    if (guard !== undefined) policies.push(guard);
    const required = config.policies.authentication?.required ?? true;
    policies.push(authentication({ credentials, required, onInvalid: guard?.recordFailure }));
  }
  if (config.routes?.some(routeHasRequirements) === true) {
    policies.push(routeAuthorization(config.routes, { challenge: challengesOf(credentials) }));
  }
  return policies;
}

/** The credential checks, in order: client certificate, API key, JWT (the last verified one names the caller). */
function credentialPolicies(config: SidecarConfig, deps: IdentityDeps): CredentialPolicy[] {
  const { apiKeys: keys, jwt } = config.policies;
  const tls = config.listener.tls;
  const options = { log: deps.log, rescanMs: deps.rescanMs, signal: deps.signal };
  const credentials: CredentialPolicy[] = [];
  if (tls !== undefined && tls.clientCertificates !== "none")
    credentials.push(clientCertificate(tls.identityFrom));
  if (keys !== undefined) credentials.push(apiKeys(keys, options));
  if (jwt !== undefined) credentials.push(jwtAuth(jwt, { ...options, now: deps.now }));
  return credentials;
}
