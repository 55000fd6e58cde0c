/** The startup gate used without native sidecars really waits for /healthz (not /readyz, which needs the app). */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { waitReadyScript } from "../../injector/container.ts";

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
});

describe("postStart startup gate", () => {
  it("exits 0 only after the admin port answers /healthz with 200", async () => {
    let ready = false;
    const seen: number[] = [];
    const firstPoll = Promise.withResolvers<void>();
    server = createServer((req, res) => {
      seen.push(ready ? 200 : 503);
      firstPoll.resolve();
      res.writeHead(req.url === "/healthz" && ready ? 200 : 503).end();
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const child = spawn(process.execPath, ["-e", waitReadyScript(port)], { stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    await firstPoll.promise;
    ready = true;
    expect(await exited).toBe(0);
    expect(seen[0]).toBe(503);
    expect(seen.at(-1)).toBe(200);
  });
});
