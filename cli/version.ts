import { readFileSync } from "node:fs";

/** The podgate version, from package.json. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** `podgate version`: prints the version. */
export async function main(): Promise<number> {
  process.stdout.write(`podgate ${VERSION}\n`);
  return 0;
}
