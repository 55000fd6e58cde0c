/**
 * The injector's errors as data, following sidecar/errors.ts: one class per code, each with a stable
 * `code`, the HTTP `statusCode` it maps to and an optional `cause`. The injector may import only
 * sidecar/config.ts, so it keeps its own copy of the base class rather than importing sidecar/errors.ts.
 */

/** What defines an injector error code. */
export interface InjectorErrorSpec {
  code: string;
  statusCode: number;
  title: string;
}

/** Every error code the injector uses, in one table. Codes never change meaning. */
export const INJECTOR_ERROR_SPECS = {
  PODGATE_INJECT_SETTINGS_INVALID: { statusCode: 500, title: "Invalid cluster settings" },
  PODGATE_INJECT_POD_REJECTED: { statusCode: 403, title: "The pod breaks podgate's rules" },
} as const satisfies Record<string, Omit<InjectorErrorSpec, "code">>;

/** One of the injector's error codes. */
export type InjectorErrorCode = keyof typeof INJECTOR_ERROR_SPECS;

/** Base of the injector's errors: a stable `code`, an HTTP `statusCode` and an optional `cause`. */
export class InjectorError extends Error {
  readonly code: InjectorErrorCode;
  readonly statusCode: number;
  readonly title: string;
  /** Every problem found, one sentence each. */
  readonly problems: readonly string[];

  constructor(code: InjectorErrorCode, problems: string[], options?: { cause?: unknown }) {
    const spec = INJECTOR_ERROR_SPECS[code];
    super(`${spec.title}:\n  ${problems.join("\n  ")}`, options);
    this.name = code;
    this.code = code;
    this.statusCode = spec.statusCode;
    this.title = spec.title;
    this.problems = problems;
  }
}

/** The cluster settings failed validation; `problems` lists every problem with its path. Thrown at startup. */
export class SettingsInvalidError extends InjectorError {
  constructor(problems: string[], options?: { cause?: unknown }) {
    super("PODGATE_INJECT_SETTINGS_INVALID", problems, options);
  }
}

/** A pod (or pod template) was denied: invalid annotations or a broken zone floor, every problem listed. */
export class PodRejectedError extends InjectorError {
  constructor(problems: string[], options?: { cause?: unknown }) {
    super("PODGATE_INJECT_POD_REJECTED", problems, options);
  }
}
