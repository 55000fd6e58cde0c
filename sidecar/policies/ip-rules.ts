import type { Policy } from "../chain.ts";
import { cidrSet, parseAddress } from "../cidr.ts";
import { IpDeniedError } from "../errors.ts";
import type { IpRulesConfig } from "../policy-config.ts";

/**
 * IP rules: allow and deny CIDR lists over `context.clientAddress`, the address the data plane
 * resolved through the trusted proxies (`forwarding.trustedProxies`). A client-supplied
 * X-Forwarded-For is only believed from a trusted peer, so a forged one changes nothing here.
 *
 * Deny wins: an address in `deny` is refused even when `allow` lists it. When `allow` is non-empty,
 * every address outside it is refused. IPv4 and IPv6 rules both match IPv4-mapped IPv6 addresses
 * (`::ffff:203.0.113.9` is `203.0.113.9`), in rules and in client addresses alike. An address that
 * cannot be parsed is refused: a rule that cannot be evaluated never lets a request through.
 * Refusals are 403 `ip-denied` problems. Both lists default to empty (the policy then passes all).
 * @example ipRules({ allow: ["10.0.0.0/8", "fd00::/8"], deny: ["10.66.0.0/16"] })
 */
export function ipRules(config: IpRulesConfig): Policy {
  const deny = cidrSet(config.deny, "policies.ipRules.deny");
  const allow = config.allow.length > 0 ? cidrSet(config.allow, "policies.ipRules.allow") : undefined;
  return {
    name: "ip-rules",
    evaluate: function ipRuleCheck(context) {
      const address = parseAddress(context.clientAddress);
      if (address === undefined) return new IpDeniedError("the client address could not be read");
      if (deny.has(address)) return new IpDeniedError("the client address is denied");
      if (allow !== undefined && !allow.has(address)) {
        return new IpDeniedError("the client address is not in the allowed ranges");
      }
      return undefined;
    },
  };
}

/** True when the config has a rule to enforce; an empty `ipRules` section compiles to no policy. */
export function hasIpRules(config: IpRulesConfig | undefined): config is IpRulesConfig {
  return config !== undefined && (config.allow.length > 0 || config.deny.length > 0);
}
