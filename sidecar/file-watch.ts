import { type FSWatcher, watch } from "node:fs";
import type { Logger } from "pino";

/** Options of watchPath. */
export interface WatchOptions {
  /** Re-scan this often whatever fs.watch reports, in ms. */
  intervalMs: number;
  /** Coalesce the burst of events one update makes into one call, in ms; default 100. */
  debounceMs?: number;
  /** Stops watching when aborted. */
  signal?: AbortSignal | undefined;
  log: Logger;
}

/**
 * Calls `onChange` soon after something changes under `path` (a folder, or the folder of a mounted
 * file), and every `intervalMs` regardless. Kubernetes updates a mounted Secret or ConfigMap by
 * writing a new timestamped folder and renaming the `..data` symlink over the old one
 * (https://kubernetes.io/docs/concepts/configuration/secret/#mounted-secrets-are-updated-automatically);
 * fs.watch on the folder sees that rename, but it can miss events on other filesystems and stops
 * when the folder is replaced, so a periodic re-scan backs it up. Neither keeps the process alive.
 * Returns a function that stops watching.
 * @example const stop = watchPath("/etc/podgate/api-keys", reload, { intervalMs: 30_000, log })
 */
export function watchPath(path: string, onChange: () => void, options: WatchOptions): () => void {
  let debounce: NodeJS.Timeout | undefined;
  const changed = () => {
    if (debounce !== undefined) return;
    debounce = setTimeout(() => {
      debounce = undefined;
      onChange();
    }, options.debounceMs ?? 100);
    debounce.unref();
  };
  const watcher = startWatcher(path, changed, options.log);
  const interval = setInterval(onChange, options.intervalMs);
  interval.unref();
  const stop = () => {
    watcher?.close();
    clearInterval(interval);
    if (debounce !== undefined) clearTimeout(debounce);
    options.signal?.removeEventListener("abort", stop);
  };
  options.signal?.addEventListener("abort", stop, { once: true });
  if (options.signal?.aborted) stop();
  return stop;
}

function startWatcher(path: string, changed: () => void, log: Logger): FSWatcher | undefined {
  try {
    const watcher = watch(path, { persistent: false }, changed);
    watcher.on("error", (error) => {
      log.warn({ path, err: error.message }, "file watch failed; relying on the periodic re-scan");
      watcher.close();
    });
    return watcher;
  } catch (error) {
    log.warn({ path, err: (error as Error).message }, "cannot watch; relying on the periodic re-scan");
    return undefined;
  }
}
