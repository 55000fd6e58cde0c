import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * A connect that hangs (no SYN-ACK, no RST) cannot be produced on a shared loopback without
 * changing the host's firewall, so this test makes its own network namespace (`unshare -n`), brings
 * up its loopback, and drops SYNs to the app's port there with iptables.
 */
function namespaceProblem(): string | undefined {
  const probe = spawnSync(
    "unshare",
    ["-n", "sh", "-c", "ip link set lo up && iptables -L INPUT -n >/dev/null"],
    {
      encoding: "utf8",
    },
  );
  if (probe.error) return `unshare is not available: ${probe.error.message}`;
  if (probe.status !== 0) return `cannot create a network namespace with iptables: ${probe.stderr.trim()}`;
  return undefined;
}

const problem = namespaceProblem();
if (problem) console.log(`skipping the connect-timeout test: ${problem}`);

describe.skipIf(problem !== undefined)("upstream connect timeout (in its own network namespace)", () => {
  it("answers 503 when the app's port drops connection attempts", () => {
    const probe = fileURLToPath(new URL("./fixtures/connect-timeout-probe.ts", import.meta.url));
    const script = `ip link set lo up && iptables -A INPUT -p tcp --dport 9 --syn -j DROP && exec "${process.execPath}" "${probe}" 9`;
    const output = execFileSync("unshare", ["-n", "sh", "-c", script], { encoding: "utf8", timeout: 20_000 });
    const result = JSON.parse(output.trim()) as { status: number; body: string };
    expect(result.status).toBe(503);
    expect(JSON.parse(result.body)).toMatchObject({
      type: "https://podgate.io/problems/upstream-unavailable",
      detail: "connecting to the app took longer than 300 ms",
    });
  });
});
