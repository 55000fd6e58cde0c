import {
  type ChainVerdict,
  composeChain,
  type Policy,
  type PolicyOutcome,
  type RequestContext,
} from "../chain.ts";
import { type CredentialPolicy, challengesOf } from "../credential.ts";
import { AuthInvalidError, AuthMissingError, type PodgateError } from "../errors.ts";

/** Options of authentication. */
export interface AuthenticationOptions {
  /** The credential checks, in the order they run; a later verified credential's identity wins. */
  credentials: readonly CredentialPolicy[];
  /** Refuse a request that presents no credential at all; default true. */
  required?: boolean;
  /** Told about every presented credential that is not valid, before the 401 goes out (lockout). */
  onInvalid?: ((context: RequestContext) => void | Promise<void>) | undefined;
}

/**
 * Authentication: runs every configured credential check (client certificate, API key, JWT) on each
 * request. A credential that is present but not valid is always 401, and no other credential makes
 * up for it. With no credential at all, `required` (the default) answers 401 with a
 * `WWW-Authenticate` challenge for each method (RFC 9110 §11.6.1); otherwise the request goes on
 * anonymously. When several credentials verify, the last one checked gives the identity: a JWT's
 * end user, then an API key, then the calling workload's certificate.
 * @example authentication({ credentials: [clientCertificate("uri"), apiKeys(keys, { log }), jwtAuth(jwt, { log })], required: true })
 */
export function authentication(options: AuthenticationOptions): Policy {
  const checks = composeChain(options.credentials);
  const challenge = challengesOf(options.credentials);
  const headers = challenge === undefined ? undefined : { "www-authenticate": challenge };
  const required = options.required ?? true;
  const decide = (context: RequestContext, verdict: ChainVerdict): PolicyOutcome | Promise<PolicyOutcome> => {
    const error = verdict.error;
    if (error === undefined) {
      if (context.identity !== undefined || !required) return undefined;
      return new AuthMissingError("this request needs a credential", headers && { headers });
    }
    if (error.code !== "PODGATE_AUTH_INVALID") return error;
    const invalid = withChallenge(error, headers);
    const noted = options.onInvalid?.(context);
    return noted instanceof Promise ? noted.then(() => invalid) : invalid;
  };
  return {
    name: "authentication",
    evaluate: function authenticate(context) {
      const verdict = checks.run(context);
      return verdict instanceof Promise
        ? verdict.then((settled) => decide(context, settled))
        : decide(context, verdict);
    },
  };
}

/** A 401 must carry WWW-Authenticate (RFC 9110 §15.5.2); a client certificate's refusal has none of its own. */
function withChallenge(error: PodgateError, headers: Record<string, string> | undefined): PodgateError {
  if (headers === undefined || error.headers?.["www-authenticate"] !== undefined) return error;
  return new AuthInvalidError(error.message, {
    cause: error.cause,
    headers: { ...error.headers, ...headers },
  });
}
