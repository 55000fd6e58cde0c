/** What `podgate check` reports: one finding per check, and what every check is given. */
import type { KubeConfig } from "@kubernetes/client-node";
import type { ClusterSettings } from "../injector/settings.ts";
import { describeApiError } from "../webhooks/api-errors.ts";

/** A check's verdict. FAIL makes `podgate check` exit 1. */
export type CheckStatus = "PASS" | "WARN" | "FAIL";

/** One line of the report. */
export interface Finding {
  status: CheckStatus;
  /** What was checked, e.g. "webhook configuration" or "pods in shop". */
  check: string;
  message: string;
}

/** What every check is given. */
export interface CheckContext {
  kubeConfig: KubeConfig;
  settings: ClusterSettings;
  /** The CLI's version: injected pods should carry it in podgate.io/status. */
  version: string;
  now: Date;
  /** Names of the webhook configurations; when absent, those selecting podgate.io/ namespace labels. */
  mutatingWebhook?: string;
  validatingWebhook?: string;
  /** The Secret with the serving certificate; when absent, read from the webhook pods' args and volumes. */
  certificateSecret?: string;
}

/** A finding. */
export function finding(status: CheckStatus, check: string, message: string): Finding {
  return { status, check, message };
}

/** An API error as one line (shared with the webhook's certificate management). */
export const describeError = describeApiError;

/** Whether an API error is this HTTP status. */
export function hasStatus(error: unknown, code: number): boolean {
  return (error as { code?: unknown }).code === code;
}

/** Runs a check; an error it throws becomes a FAIL line for `check` instead of ending the report. */
export async function guard(check: string, run: () => Promise<Finding[]>): Promise<Finding[]> {
  try {
    return await run();
  } catch (error) {
    return [finding("FAIL", check, describeError(error))];
  }
}

/** Formats findings as lines plus the summary; returns the text and the exit code. */
export function report(findings: Finding[]): { text: string; exitCode: number } {
  const lines = findings.map((f) => `${f.status.padEnd(4)} ${f.check}: ${f.message}`);
  const count = (status: CheckStatus) => findings.filter((f) => f.status === status).length;
  const failed = count("FAIL");
  lines.push(`summary: ${count("PASS")} pass, ${count("WARN")} warn, ${failed} fail`);
  return { text: `${lines.join("\n")}\n`, exitCode: failed > 0 ? 1 : 0 };
}
