import ipaddr from "ipaddr.js";

/**
 * Finds the client's address. It is the socket's peer, unless that peer is a trusted proxy: then it is
 * the right-most X-Forwarded-For entry that is not itself trusted (entries a client wrote to the
 * left of it are not believed). Compiled once from the `forwarding.trustedProxies` CIDRs.
 */
export interface ClientAddressResolver {
  /** The client's address for a request from `peer` carrying `forwardedFor` (X-Forwarded-For). */
  resolve(peer: string, forwardedFor: string | undefined): string;
  /** True when `peer` is a trusted proxy, whose forwarding headers are extended rather than replaced. */
  trusts(peer: string): boolean;
}

/** Turns `::ffff:10.0.0.1` into `10.0.0.1` so IPv4 rules match IPv4-mapped peers. */
export function plainAddress(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** Builds a resolver; with no trusted proxies it returns the peer without parsing anything. */
export function clientAddressResolver(trustedProxies: readonly string[]): ClientAddressResolver {
  if (trustedProxies.length === 0) {
    return { resolve: (peer) => plainAddress(peer), trusts: () => false };
  }
  const ranges = trustedProxies.map(parseRange);
  const isTrusted = (address: string): boolean | undefined => {
    if (!ipaddr.isValid(address)) return undefined;
    const parsed = ipaddr.process(address);
    return ranges.some(([range, bits]) => parsed.kind() === range.kind() && parsed.match(range, bits));
  };
  const resolve = function rightmostUntrusted(peer: string, forwardedFor: string | undefined): string {
    const socketPeer = plainAddress(peer);
    if (forwardedFor === undefined || isTrusted(socketPeer) !== true) return socketPeer;
    const hops = forwardedFor.split(",");
    let client = socketPeer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = plainAddress((hops[i] ?? "").trim());
      const trusted = isTrusted(hop);
      // A hop that is not an IP address is not believed: the last trusted hop is the client we know.
      if (trusted === undefined) return client;
      client = hop;
      if (!trusted) return hop;
    }
    return client;
  };
  return { resolve, trusts: (peer) => isTrusted(plainAddress(peer)) === true };
}

function parseRange(cidr: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  if (!cidr.includes("/")) {
    const address = ipaddr.process(cidr);
    return [address, address.kind() === "ipv4" ? 32 : 128];
  }
  const [range, bits] = ipaddr.parseCIDR(cidr);
  if (range instanceof ipaddr.IPv6 && range.isIPv4MappedAddress()) {
    return [range.toIPv4Address(), Math.max(0, bits - 96)];
  }
  return [range, bits];
}
