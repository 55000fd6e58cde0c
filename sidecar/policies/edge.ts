import type { Policy } from "../chain.ts";
import type { SidecarConfig } from "../config.ts";
import { cors } from "./cors.ts";
import { hasHeaderRules, headerRules } from "./header-rules.ts";
import { hasIpRules, ipRules } from "./ip-rules.ts";

/**
 * The edge policies, compiled once from `config.policies`, in the order they must run: before the
 * route allowlist and authentication, so they see every request.
 *
 * 1. `header-rules`: first, so its response edits (security headers, removed `Server`) reach every
 *    answer, problem documents and preflights included. Its request edits only take effect when the
 *    request is forwarded, and later policies read the client's headers, never the edited ones, so
 *    a rule cannot forge a credential for them.
 * 2. `ip-rules`: a refused address learns nothing more, not even the CORS policy.
 * 3. `cors`: before the route allowlist (a preflight is an OPTIONS that routes rarely list) and
 *    before authentication (browsers send no credentials on a preflight).
 *
 * Sections that are absent or empty compile to no policy.
 * @example const policies = [...edgePolicies(config), routeAllowlist(config.routes), ...authentication]
 */
export function edgePolicies(config: SidecarConfig): Policy[] {
  const { headers, ipRules: ip, cors: corsConfig } = config.policies;
  const policies: Policy[] = [];
  if (hasHeaderRules(headers)) policies.push(headerRules(headers));
  if (hasIpRules(ip)) policies.push(ipRules(ip));
  if (corsConfig !== undefined) policies.push(cors(corsConfig));
  return policies;
}
