import { ConfigInvalidError } from "../errors.ts";

/**
 * The numeric OTEL_* variables podgate passes to the SDK's parts it builds itself (the SDK reads
 * them only for parts it builds from the environment). A value that is not a whole number stops the
 * sidecar with the variable's name and value, rather than running with a default nobody asked for.
 */

/** Batch span processor (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/#batch-span-processor). */
const BATCH_SPAN_VARIABLES = {
  scheduledDelayMillis: "OTEL_BSP_SCHEDULE_DELAY",
  exportTimeoutMillis: "OTEL_BSP_EXPORT_TIMEOUT",
  maxQueueSize: "OTEL_BSP_MAX_QUEUE_SIZE",
  maxExportBatchSize: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
} as const;

/** Periodic metric reader. */
const METRIC_READER_VARIABLES = {
  exportIntervalMillis: "OTEL_METRIC_EXPORT_INTERVAL",
  exportTimeoutMillis: "OTEL_METRIC_EXPORT_TIMEOUT",
} as const;

type Settings<Variables> = { [Option in keyof Variables]?: number };

/**
 * The batch span processor's options that are set.
 * @example batchSpanSettings({ OTEL_BSP_SCHEDULE_DELAY: "1000" }) // { scheduledDelayMillis: 1000 }
 */
export function batchSpanSettings(env: NodeJS.ProcessEnv): Settings<typeof BATCH_SPAN_VARIABLES> {
  return wholeNumbers(env, BATCH_SPAN_VARIABLES);
}

/**
 * The periodic metric reader's options that are set.
 * @example metricReaderSettings({ OTEL_METRIC_EXPORT_INTERVAL: "15000" }) // { exportIntervalMillis: 15000 }
 */
export function metricReaderSettings(env: NodeJS.ProcessEnv): Settings<typeof METRIC_READER_VARIABLES> {
  const settings = wholeNumbers(env, METRIC_READER_VARIABLES);
  const { exportIntervalMillis: interval, exportTimeoutMillis: timeout } = settings;
  if (interval !== undefined && timeout !== undefined && timeout > interval) {
    throw new ConfigInvalidError([
      `OTEL_METRIC_EXPORT_TIMEOUT: ${timeout} is longer than OTEL_METRIC_EXPORT_INTERVAL (${interval})`,
    ]);
  }
  return settings;
}

function wholeNumbers<Variables extends Record<string, string>>(
  env: NodeJS.ProcessEnv,
  variables: Variables,
): Settings<Variables> {
  const settings: Settings<Variables> = {};
  const problems: string[] = [];
  for (const [option, name] of Object.entries(variables) as Array<[keyof Variables, string]>) {
    const text = env[name]?.trim();
    if (text === undefined || text === "") continue;
    const value = Number(text);
    if (Number.isSafeInteger(value) && value >= 1) settings[option] = value;
    else problems.push(`${name}: ${JSON.stringify(env[name])} is not a whole number ≥ 1`);
  }
  if (problems.length > 0) throw new ConfigInvalidError(problems);
  return settings;
}
