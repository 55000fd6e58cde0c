import type { TLSSocket } from "node:tls";
import type { CredentialPolicy } from "../credential.ts";
import { AuthInvalidError } from "../errors.ts";
import type { TlsConfig } from "../policy-config.ts";

/** What a connection's client certificate says: a verified identity, or why it gives none. */
export type CertificateIdentity = { readonly id: string } | { readonly problem: string };

/** Which SAN names the client: a URI (a SPIFFE ID) or a DNS name. */
export type IdentityFrom = TlsConfig["identityFrom"];

const SAN_TYPE = { uri: "URI", dns: "DNS" } as const;

/**
 * The identity in a TLS connection's client certificate: undefined when the client sent none, a
 * problem when the certificate did not verify against the CA bundle (`clientCertificates: optional`
 * lets such a handshake through) or has no SAN of the wanted kind, else the first SAN URI or DNS
 * name. The subject CN is never used (RFC 6125 §6.4.4 deprecates it for identity).
 * @example clientCertificateIdentity(req.socket as TLSSocket, "uri") // { id: "spiffe://cluster.local/ns/shop/sa/web" }
 */
export function clientCertificateIdentity(
  socket: TLSSocket,
  from: IdentityFrom,
): CertificateIdentity | undefined {
  const certificate = socket.getPeerCertificate();
  // Node returns an empty object when the client sent no certificate.
  if (certificate === null || certificate.raw === undefined) return undefined;
  if (!socket.authorized) {
    return { problem: `the client certificate is not trusted (${String(socket.authorizationError)})` };
  }
  const id = sanValues(certificate.subjectaltname ?? "", SAN_TYPE[from])[0];
  if (id === undefined)
    return { problem: `the client certificate has no ${SAN_TYPE[from]} subject alternative name` };
  return { id };
}

// Node writes `URI:spiffe://a/b, DNS:x.example` and quotes, JSON-style, any value holding a comma,
// a quote or a control character (the fix for CVE-2021-44532), so a value cannot fake a second entry.
const SAN_ENTRY = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;

/**
 * The values of one type in a `subjectaltname` string, in order.
 * @example sanValues('DNS:a.example, URI:spiffe://td/sa/x', "URI") // ["spiffe://td/sa/x"]
 */
export function sanValues(subjectAltName: string, type: string): string[] {
  const values: string[] = [];
  for (const [, entryType, raw] of subjectAltName.matchAll(SAN_ENTRY)) {
    if (entryType !== type || raw === undefined) continue;
    values.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  }
  return values;
}

/**
 * Client certificates (mTLS): on a TLS connection with a client certificate, the certificate's SAN
 * URI or DNS name (per `listener.tls.identityFrom`) becomes the identity; a certificate that did not
 * verify, or names no such SAN, is 401. The result is kept per connection, since the certificate
 * cannot change on it. Plain-HTTP requests and TLS without a client certificate pass untouched.
 * @example clientCertificate("uri")
 */
export function clientCertificate(from: IdentityFrom): CredentialPolicy {
  const seen = new WeakMap<TLSSocket, CertificateIdentity | undefined>();
  return {
    name: "client-certificate",
    challenge: undefined,
    evaluate: function certificateCredential(context) {
      const socket = context.req.socket as TLSSocket;
      if (socket.encrypted !== true) return undefined;
      let result = seen.get(socket);
      if (!seen.has(socket)) {
        result = clientCertificateIdentity(socket, from);
        seen.set(socket, result);
      }
      if (result === undefined) return undefined;
      if ("problem" in result) return new AuthInvalidError(result.problem);
      context.identity = { id: result.id, source: "mtls" };
      return undefined;
    },
  };
}
