// Prints vitest's JSON report as one line, "N passed, N failed, N skipped"; exits 1 when a test
// failed, a suite failed to load, or no test ran.
import { readFileSync } from "node:fs";

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
  numTotalTests: number;
}

const file = process.argv[2] ?? "test-results/vitest.json";
let report: VitestReport;
try {
  report = JSON.parse(readFileSync(file, "utf8")) as VitestReport;
} catch (error) {
  console.log(`no test report at ${file}: ${(error as Error).message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const failed = report.numFailedTests + report.numFailedTestSuites;
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || report.numTotalTests === 0 ? 1 : 0);
