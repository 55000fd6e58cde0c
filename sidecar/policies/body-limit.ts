import type { Policy } from "../chain.ts";
import { BodyTooLargeError, type PodgateError } from "../errors.ts";

/**
 * Body limit: a declared Content-Length above the limit answers 413 before any byte is forwarded.
 * Chunked bodies have no declared length, so the forwarder counts them as they stream and stops at
 * the limit (see forward.ts); this policy hands it the limit through `context.maxBodyBytes`.
 * @example bodyLimit(1_048_576) // 1 MiB
 */
export function bodyLimit(maxBytes: number): Policy {
  return {
    name: "body-limit",
    evaluate: function declaredBodyWithinLimit(context) {
      if (context.maxBodyBytes > maxBytes) context.maxBodyBytes = maxBytes;
      if (context.contentLength > context.maxBodyBytes) {
        return new BodyTooLargeError(
          `the request body of ${context.contentLength} bytes exceeds the limit of ${context.maxBodyBytes} bytes`,
        );
      }
      return undefined;
    },
  };
}

/** The error the forwarder raises when a streamed body passes the limit. */
export function streamedBodyTooLarge(limit: number): PodgateError {
  return new BodyTooLargeError(`the request body exceeds the limit of ${limit} bytes`);
}
