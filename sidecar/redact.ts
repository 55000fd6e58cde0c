import type { LoggerOptions } from "pino";

/**
 * Redaction of what we log: credentials never appear, card numbers are masked to their first 6 and
 * last 4 digits (PCI DSS v4 3.4.1), and extra patterns configured per zone (a US SSN for hipaa) are
 * replaced. Every log stream (access log, audit log, webhook and error logs) goes through here.
 * Patterns are compiled once; on the request path only a precheck and a regex replace run.
 */

/** One extra pattern: its name appears in the replacement, `[redacted:ssn]`. */
export interface RedactPattern {
  readonly name: string;
  readonly pattern: string;
}

/** Replaces secrets and personal data in one logged string. */
export type Redactor = (text: string) => string;

/** Header names whose values are credentials: always replaced whole. */
const SECRET_HEADER = /^(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|apikey)$/i;
/** Any other header or field name that says it holds a secret. */
const SECRET_NAME = /token|secret|password|passwd|credential|api[-_]?key|session|jwt/i;

/** 13 to 19 digits, optionally separated by single spaces or dashes. */
const CARD_CANDIDATE = /(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])/g;
/** Cheap precheck: a card number has at least 4 digits in a row somewhere. */
const FOUR_DIGITS = /\d{4}/;

/** Luhn checksum over a string of digits. */
export function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let digit = digits.charCodeAt(i) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

function maskCard(match: string): string {
  const digits = match.replace(/[ -]/g, "");
  if (!passesLuhn(digits)) return match;
  return `${digits.slice(0, 6)}${"*".repeat(digits.length - 10)}${digits.slice(-4)}`;
}

/**
 * Masks card numbers (13–19 digits passing Luhn, spaces or dashes allowed) to first 6 + last 4.
 * @example maskCardNumbers("/cards/4111111111111111") // "/cards/411111******1111"
 */
export function maskCardNumbers(text: string): string {
  if (!FOUR_DIGITS.test(text)) return text;
  return text.replace(CARD_CANDIDATE, maskCard);
}

/**
 * Compiles a redactor: card masking plus the extra patterns, each replaced by `[redacted:<name>]`.
 * Throws on an invalid pattern (config validation reports it first).
 * @example compileRedactor([{ name: "ssn", pattern: "\\b\\d{3}-\\d{2}-\\d{4}\\b" }])("/p/123-45-6789") // "/p/[redacted:ssn]"
 */
export function compileRedactor(patterns: readonly RedactPattern[] = []): Redactor {
  const compiled = patterns.map((p) => ({
    regex: new RegExp(p.pattern, "g"),
    replacement: `[redacted:${p.name}]`,
  }));
  if (compiled.length === 0) return maskCardNumbers;
  return function redact(text: string): string {
    let out = maskCardNumbers(text);
    for (const { regex, replacement } of compiled) out = out.replace(regex, replacement);
    return out;
  };
}

/** The problem with a pattern, or undefined when it compiles. */
export function patternProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern, "g");
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** True for a header or field name whose value is a credential. */
export function isSecretName(name: string): boolean {
  return SECRET_HEADER.test(name) || SECRET_NAME.test(name);
}

/**
 * Deep-copies a log object for the logs that are not on the hot path (webhook decisions, errors):
 * fields named like a credential become "[redacted]", every string goes through the redactor, and
 * an error stays an error of its class with its message, stack, cause and own fields redacted.
 */
export function redactValue(value: unknown, redact: Redactor = maskCardNumbers, depth = 0): unknown {
  if (typeof value === "string") return redact(value);
  if (depth > 8 || value === null || typeof value !== "object" || value instanceof Date) return value;
  // Bytes are not text to scan, and copying them key by key would be slow and unreadable.
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, redact, depth + 1));
  const out = (value instanceof Error ? Object.create(Object.getPrototypeOf(value)) : {}) as Record<
    string,
    unknown
  >;
  for (const [key, child] of Object.entries(value)) {
    out[key] = isSecretName(key) ? "[redacted]" : redactValue(child, redact, depth + 1);
  }
  if (value instanceof Error) {
    // message, stack and cause are own but not enumerable: copy them the same way.
    for (const key of ["message", "stack", "cause"] as const) {
      if (value[key] === undefined) continue;
      const redacted = redactValue(value[key], redact, depth + 1);
      Object.defineProperty(out, key, { value: redacted, writable: true, configurable: true });
    }
  }
  return out;
}

/**
 * pino hooks that pass every log call's arguments (the message, its format arguments, the merged
 * object, an error) through {@link redactValue}, so no logger call can write a credential, a card
 * number or a zone's pattern. The access log does not pass here: it redacts its own fields.
 * @example pino({ hooks: redactingLogHooks(compileRedactor(patterns)) })
 */
export function redactingLogHooks(redact: Redactor): NonNullable<LoggerOptions["hooks"]> {
  return {
    logMethod(args, method) {
      const redacted = args.map((arg) => redactValue(arg, redact)) as typeof args;
      method.apply(this, redacted);
    },
  };
}
