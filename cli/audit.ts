import { readFileSync } from "node:fs";
import { GENESIS, verifyAuditChain } from "../sidecar/audit.ts";

const USAGE = "usage: podgate audit verify FILE [--prev HASH]\n";

/**
 * `podgate audit verify FILE [--prev HASH]`: checks the hash chain of an audit log. Exits 0 and
 * prints the record count and last hash when it holds; exits 1 naming the first broken line
 * otherwise; 2 on usage errors. `--prev` continues a chain from a previous (rotated) file.
 */
export async function main(argv: string[]): Promise<number> {
  const [verb, file, flag, prev] = argv;
  const badPrev = flag !== undefined && (flag !== "--prev" || !/^[0-9a-f]{64}$/.test(prev ?? ""));
  if (verb !== "verify" || file === undefined || badPrev) {
    process.stderr.write(USAGE);
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    process.stderr.write(`podgate audit: cannot read ${file}: ${(error as Error).message}\n`);
    return 2;
  }
  const result = verifyAuditChain(text, prev ?? GENESIS);
  if (!result.ok) {
    process.stderr.write(`${file}:${result.line}: ${result.reason}\n`);
    return 1;
  }
  process.stdout.write(`${file}: ${result.records} records, chain intact, last hash ${result.last}\n`);
  return 0;
}
