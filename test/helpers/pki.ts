import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A throwaway PKI made with the openssl CLI: a CA, a server certificate for 127.0.0.1, client certificates. */
export interface Pki {
  readonly dir: string;
  readonly caFile: string;
  readonly ca: Buffer;
  /** Issues a certificate signed by the CA; returns its cert and key file paths. */
  issue(name: string, subjectAltName: string, serial: number): { certFile: string; keyFile: string };
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

/** Creates a CA in a temporary folder. */
export function createPki(caName = "podgate test CA"): Pki {
  const dir = mkdtempSync(join(tmpdir(), "podgate-pki-"));
  openssl(
    dir,
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt"].concat([
      "-days",
      "2",
      "-subj",
      `/CN=${caName}`,
    ]),
  );
  return {
    dir,
    caFile: join(dir, "ca.crt"),
    ca: readFileSync(join(dir, "ca.crt")),
    issue(name, subjectAltName, serial) {
      openssl(dir, [
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        `${name}.new.key`,
        "-out",
        `${name}.csr`,
        "-subj",
        `/CN=${name}`,
      ]);
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${subjectAltName}\n`);
      openssl(
        dir,
        [
          "x509",
          "-req",
          "-in",
          `${name}.csr`,
          "-CA",
          "ca.crt",
          "-CAkey",
          "ca.key",
          "-set_serial",
          String(serial),
        ].concat(["-days", "2", "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.new.crt`]),
      );
      // Replace in place, key first, as a Secret update does.
      writeFileSync(join(dir, `${name}.key`), readFileSync(join(dir, `${name}.new.key`)));
      writeFileSync(join(dir, `${name}.crt`), readFileSync(join(dir, `${name}.new.crt`)));
      return { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
