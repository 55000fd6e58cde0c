/** An API server error as one line: the HTTP status and the message of the API server's Status body. */
export function describeApiError(error: unknown): string {
  const { code, body } = error as { code?: unknown; body?: unknown };
  let message = (error as Error).message?.split("\n")[0] ?? String(error);
  if (typeof body === "string") {
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {
      message = body.slice(0, 200);
    }
  }
  return typeof code === "number" ? `HTTP ${code}: ${message}` : message;
}
