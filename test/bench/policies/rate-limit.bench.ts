import { test } from "vitest";
import type { RequestContext } from "../../../sidecar/chain.ts";
import { rateLimit } from "../../../sidecar/policies/rate-limit.ts";
import { MemoryCounterStore } from "../../../sidecar/store/memory-store.ts";
import { fakeContext } from "../../helpers/traffic-sidecar.ts";

/**
 * The rate-limit check, per request: selector, key, one GCRA check-and-update in the memory store,
 * and the two RateLimit fields. Run with `npx vitest bench --run --project unit test/bench/policies`
 * (Vitest 5: benchmarks are registered from the `bench` test-context fixture).
 */

const store = new MemoryCounterStore({ sweepIntervalMs: 0 });
let now = 1_700_000_000_000;
// The clock moves 1 ms per call: a steady 1,000 req/s per key, well inside every limit below.
const clock = () => (now += 1);

const oneRate = rateLimit(
  { name: "one", key: "ip", limits: [{ requests: 100_000, per: "second" }] },
  { store, now: clock },
);
const twoRates = rateLimit(
  {
    name: "two",
    key: "ip",
    limits: [
      { requests: 100_000, per: "second", burst: 200_000 },
      { requests: 1_000_000_000, per: "hour" },
    ],
  },
  { store, now: clock },
);
const routed = rateLimit(
  {
    name: "routed",
    key: "header:x-tenant",
    routes: ["/api/**"],
    limits: [{ requests: 100_000, per: "second" }],
  },
  { store, now: clock },
);
const exhausted = rateLimit(
  { name: "exhausted", key: "global", limits: [{ requests: 1, per: "day" }] },
  { store, now: clock },
);

const context = fakeContext({
  path: "/api/orders/7",
  clientAddress: "10.1.2.3",
  headers: { Host: "app", Accept: "application/json", "X-Tenant": "acme" },
});
const addresses = Array.from({ length: 10_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
let next = 0;

function check(policy: ReturnType<typeof rateLimit>, ctx: RequestContext): void {
  ctx.responseEdits = undefined;
  policy.evaluate(ctx);
}

test("rate-limit check", async ({ bench }) => {
  await bench.compare(
    bench("one rate, one client", () => check(oneRate, context)),
    bench("two rates, one client", () => check(twoRates, context)),
    bench("one rate, 10,000 clients", () => {
      (context as { clientAddress: string }).clientAddress = addresses[next++ % addresses.length] as string;
      check(oneRate, context);
    }),
    bench("header key and route selector", () => check(routed, context)),
    bench("denied (429 error built)", () => check(exhausted, context)),
  );
});
