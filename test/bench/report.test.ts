/** The benchmark report's arithmetic: the median over rounds and the rounds listing. */
import { describe, expect, it } from "vitest";
import { formatRounds, median, medianRound, type TargetResult } from "./report.ts";

const result = (name: string, requestsPerSec: number | undefined): TargetResult =>
  requestsPerSec === undefined
    ? { name, error: "could not start", memoryNote: "none" }
    : ({ name, wrk: { requestsPerSec }, memoryNote: "process" } as TargetResult);

describe("benchmark rounds", () => {
  it("takes each target's median round by req/s, a failed round counting as slowest", () => {
    const rounds = [
      [result("podgate", 20_000), result("podgate+telemetry", 15_000)],
      [result("podgate", 17_000), result("podgate+telemetry", undefined)],
      [result("podgate", 21_000), result("podgate+telemetry", 18_000)],
    ];
    expect(medianRound(rounds).map((r) => [r.name, r.wrk?.requestsPerSec])).toEqual([
      ["podgate", 20_000],
      ["podgate+telemetry", 15_000],
    ]);
    expect(medianRound([rounds[0] ?? []])).toEqual(rounds[0]);
  });

  it("lists every round's req/s per target", () => {
    const rounds = [[result("podgate", 20_000.4)], [result("podgate", undefined)]];
    expect(formatRounds(rounds)).toBe(
      "Rounds (the table shows each target's median):\n- podgate: 20000, — req/s",
    );
  });
});

describe("median", () => {
  it.each([
    [[], 0],
    [[3], 3],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
  ])("of %j is %d", (values, expected) => {
    expect(median(values)).toBe(expected);
  });
});
