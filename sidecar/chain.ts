import type { IncomingMessage } from "node:http";
import { PodgateError, PolicyFailedError } from "./errors.ts";

/**
 * The policy chain: the compiled, ordered list of policies that each request passes before it is
 * forwarded. A policy is compiled once from config; on the request path it only runs a matcher and
 * either passes (returns undefined) or denies (returns a PodgateError that becomes the response).
 * A policy may answer asynchronously (a JWKS fetch, a remote counter store); the chain stays
 * synchronous until one does. A policy that throws denies: a rule that cannot be evaluated never
 * lets a request through.
 */

/** Who a request comes from, once a credential was verified. */
export interface Identity {
  /** API key id, JWT `sub`, or the client certificate's SAN URI / DNS name. Never the secret itself. */
  readonly id: string;
  readonly source: "api-key" | "jwt" | "mtls";
  /** Verified JWT claims. */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** Scopes from the JWT `scope` (space-separated) or `scp` claim. */
  readonly scopes?: ReadonlySet<string>;
}

/** Header edits policies ask for; applied once, by the data plane. Flat [name, value, ...] lists. */
export interface HeaderEdits {
  set: string[];
  add: string[];
  remove: string[];
}

/** What policies see of a request. */
export interface RequestContext {
  /** The request, for its headers; policies never read its body. */
  readonly req: IncomingMessage;
  readonly method: string;
  /** Canonical decoded path (see path.ts); rules match this. */
  readonly path: string;
  /** The client's address after trusted-proxy resolution; never a client-supplied header. */
  readonly clientAddress: string;
  readonly requestId: string;
  /** Declared body length from Content-Length, or -1 when the body is chunked or absent. */
  readonly contentLength: number;
  /** The body-size limit the forwarder enforces while streaming; policies may lower it. */
  maxBodyBytes: number;
  /** The verified caller, set by the authentication policies. */
  identity: Identity | undefined;
  /** The index in `config.routes` of the route the allowlist matched; -1 without an allowlist. */
  routeIndex: number;
  /** Edits of the request headers sent to the app (before the gateway's forwarding headers). */
  upstreamEdits: HeaderEdits | undefined;
  /** Edits of the response headers, applied to the app's response and to problem responses. */
  responseEdits: HeaderEdits | undefined;
  /** Called once with the response status when the exchange ends (released slots, latency). */
  onDone: Array<(status: number) => void> | undefined;
}

/** The edits for one direction, created on first use. */
export function editsOf(context: RequestContext, direction: "upstream" | "response"): HeaderEdits {
  const key = direction === "upstream" ? "upstreamEdits" : "responseEdits";
  context[key] ??= { set: [], add: [], remove: [] };
  return context[key];
}

/** Registers a callback for the end of the exchange. */
export function whenDone(context: RequestContext, callback: (status: number) => void): void {
  context.onDone ??= [];
  context.onDone.push(callback);
}

/** What a policy decides: undefined lets the request continue, an error denies it. */
export type PolicyOutcome = PodgateError | undefined;

/** A policy that answers the request itself, without the app (a CORS preflight's 204). */
export interface PolicyResponse {
  readonly respond: { readonly status: number; readonly headers: Readonly<Record<string, string>> };
}

/** Everything a policy may return. */
export type PolicyDecision = PolicyOutcome | PolicyResponse;

/** One compiled policy. */
export interface Policy {
  /** Stable name, used in logs and decisions (`route-allowlist`, `body-limit`). */
  readonly name: string;
  evaluate(context: RequestContext): PolicyDecision | Promise<PolicyDecision>;
}

/** The chain's verdict: which policy denied, if any. */
export interface ChainVerdict {
  error: PodgateError | undefined;
  /** Name of the policy that decided a denial or answered itself. */
  policy: string | undefined;
  /** The answer of a policy that responds itself. */
  response?: PolicyResponse["respond"] | undefined;
}

const PASS: ChainVerdict = Object.freeze({ error: undefined, policy: undefined });

/** A compiled chain: runs each policy in order, synchronously where it can. */
export interface Chain {
  readonly policies: readonly Policy[];
  run(context: RequestContext): ChainVerdict | Promise<ChainVerdict>;
}

/** Composes policies, in the order given, into a chain. */
export function composeChain(policies: readonly Policy[]): Chain {
  const list = Object.freeze([...policies]);
  const runFrom = (context: RequestContext, start: number): ChainVerdict | Promise<ChainVerdict> => {
    for (let i = start; i < list.length; i++) {
      const policy = list[i] as Policy;
      let outcome: PolicyDecision | Promise<PolicyDecision>;
      try {
        outcome = policy.evaluate(context);
      } catch (error) {
        return failed(policy, error);
      }
      if (outcome instanceof Promise) {
        return outcome.then(
          (settled) => (settled === undefined ? runFrom(context, i + 1) : decided(policy, settled)),
          (error: unknown) => failed(policy, error),
        );
      }
      if (outcome !== undefined) return decided(policy, outcome);
    }
    return PASS;
  };
  return { policies: list, run: (context) => runFrom(context, 0) };
}

function decided(policy: Policy, decision: PodgateError | PolicyResponse): ChainVerdict {
  return decision instanceof PodgateError
    ? { error: decision, policy: policy.name }
    : { error: undefined, response: decision.respond, policy: policy.name };
}

function failed(policy: Policy, error: unknown): ChainVerdict {
  const denial =
    error instanceof PodgateError
      ? error
      : new PolicyFailedError(`policy ${policy.name} could not be evaluated`, { cause: error });
  return { error: denial, policy: policy.name };
}
