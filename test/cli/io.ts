/** An in-memory CliIo for running CLI commands in-process. */
import type { CliIo } from "../../cli/manifests.ts";

export function memoryIo(stdin = ""): CliIo & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    readStdin: async () => stdin,
    stdout(text: string) {
      io.out += text;
    },
    stderr(text: string) {
      io.err += text;
    },
  };
  return io;
}
