// Whether agents can trust this coordinator's certificate with their system's CAs, or need the farm's own
// CA file (`--ca-file`): the install page prints the lines for a private CA when the certificate is
// self-signed, or the top of its chain was not issued by one of Node's public root CAs.

import { rootCertificates } from "node:tls";
import { X509Certificate } from "node:crypto";

let publicRoots: Set<string> | null = null;

function publicRootSubjects(): Set<string> {
  publicRoots ??= new Set(rootCertificates.map((pem) => new X509Certificate(pem).subject));
  return publicRoots;
}

/** True when the PEM chain (leaf first) needs a CA file on the agents. */
export function needsPrivateCa(chainPem: Buffer): boolean {
  const blocks = chainPem
    .toString("utf8")
    .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  const top = blocks?.at(-1);
  if (top === undefined) return true;
  const cert = new X509Certificate(top);
  if (cert.issuer === cert.subject) return !publicRootSubjects().has(cert.subject);
  return !publicRootSubjects().has(cert.issuer);
}
