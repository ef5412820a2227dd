// A private CA made with openssl, as an admin makes a farm CA (docs/ADMIN.md, "TLS with a private CA"), and
// server certificates it signs for the given addresses and names.

import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { stdio: "ignore" });
}

export interface Pki {
  /** The CA certificate (PEM). */
  ca: string;
  /** A certificate for `name`, valid for `subjectAltName` (e.g. "IP:10.0.0.1,DNS:farm-hq"). */
  issue(name: string, subjectAltName: string): { cert: string; key: string };
}

/** A CA in `dir` (made when missing). */
export function makeCa(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  const ca = join(dir, "ca.pem");
  const caKey = join(dir, "ca.key");
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=openhq test farm CA",
    "-keyout", caKey, "-out", ca); // prettier-ignore
  return {
    ca,
    issue(name, subjectAltName) {
      const key = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const cert = join(dir, `${name}.pem`);
      const ext = join(dir, `${name}.ext`);
      writeFileSync(ext, `subjectAltName=${subjectAltName}\n`);
      openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${name}`, "-keyout", key, "-out", csr);
      openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-days", "2",
        "-extfile", ext, "-out", cert); // prettier-ignore
      return { cert, key };
    },
  };
}
