import { Writable } from "node:stream";

/** A stream for a pino logger that pushes each written line (as text) onto `lines`. */
export function lineSink(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      callback();
    },
  });
}

/** A stream for a pino logger whose JSON lines land, parsed, in `lines`. */
export function capturingStream(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line.trim() !== "") lines.push(JSON.parse(line));
      callback();
    },
  });
  return { stream, lines };
}
