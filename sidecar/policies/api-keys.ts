import { hash, timingSafeEqual } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { editsOf } from "../chain.ts";
import { type CredentialPolicy, REPEATED, singleHeader } from "../credential.ts";
import { AuthInvalidError, ConfigInvalidError, ConfigUnreadableError } from "../errors.ts";
import { watchPath } from "../file-watch.ts";
import type { ApiKeysConfig } from "../policy-config.ts";

/** Options of apiKeys. */
export interface ApiKeysOptions {
  log: Logger;
  /** Re-scan the folder this often even without a change event, in ms; default 30 000. */
  rescanMs?: number;
  /** Stops watching the folder when aborted. */
  signal?: AbortSignal | undefined;
}

/** One key as held in memory: its id and the SHA-256 digest of the key, never the key. */
interface StoredKey {
  readonly id: string;
  readonly digest: Buffer;
}

/** An HTTP field name (RFC 9110 §5.1: a token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/** Key files larger than this are not keys (a mis-mounted folder); they are skipped. */
const MAX_KEY_FILE_BYTES = 4096;
/** Presented keys longer than this cannot match a stored one; they are refused without hashing. */
const MAX_PRESENTED_LENGTH = MAX_KEY_FILE_BYTES;

/**
 * API keys: the request's key header (default `x-api-key`) must hold one of the keys in
 * `directory`, a mounted Secret with one file per key whose name is the key id and whose trimmed
 * contents are the key. Keys are held only as SHA-256 digests and compared in constant time against
 * every stored digest. The folder is re-read when it changes (a reload that fails keeps the previous
 * keys). A key is never read from the query string. On success the key id becomes the identity and
 * the header is removed before the request reaches the app. The folder is read at construction:
 * an unreadable folder throws.
 * @example apiKeys({ directory: "/etc/podgate/api-keys", header: "x-api-key" }, { log })
 */
export function apiKeys(config: ApiKeysConfig, options: ApiKeysOptions): CredentialPolicy {
  const header = config.header.toLowerCase();
  if (!HEADER_NAME.test(header)) {
    throw new ConfigInvalidError([
      `policies.apiKeys.header: expected a header name, got ${JSON.stringify(header)}`,
    ]);
  }
  const challenge = `ApiKey header="${header}"`;
  const keyring = watchedKeyring(config.directory, options);
  const invalid = (message: string) =>
    new AuthInvalidError(message, { headers: { "www-authenticate": challenge } });
  return {
    name: "api-keys",
    challenge,
    evaluate: function apiKeyCredential(context) {
      const presented = singleHeader(context.req.rawHeaders, header);
      if (presented === undefined || presented === "") return undefined;
      if (presented === REPEATED) return invalid(`more than one ${header} header`);
      const id = keyring.match(presented);
      if (id === undefined) return invalid("the API key is not valid");
      context.identity = { id, source: "api-key" };
      editsOf(context, "upstream").remove.push(header);
      return undefined;
    },
  };
}

/** The current keys, replaced as a whole by each successful reload. */
interface Keyring {
  /** The id of the key whose digest equals the presented key's, or undefined. */
  match(presented: string): string | undefined;
}

function watchedKeyring(directory: string, options: ApiKeysOptions): Keyring {
  const { log } = options;
  let keys: readonly StoredKey[];
  try {
    keys = readKeyDirectory(directory, log);
  } catch (error) {
    throw new ConfigUnreadableError(
      `policies.apiKeys.directory: cannot read ${directory}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  log.info({ directory, keys: keys.length }, "API keys loaded");
  const reload = () => {
    try {
      const next = readKeyDirectory(directory, log);
      if (sameKeys(keys, next)) return;
      keys = next;
      log.info({ directory, keys: keys.length }, "API keys reloaded");
    } catch (error) {
      log.error(
        { directory, err: (error as Error).message },
        "API key reload failed; keeping the previous keys",
      );
    }
  };
  watchPath(directory, reload, { intervalMs: options.rescanMs ?? 30_000, signal: options.signal, log });
  return { match: (presented) => matchKey(keys, presented) };
}

/**
 * Compares the presented key's digest with every stored digest, without stopping at a match, so
 * the time taken does not depend on which key matched or where. Comparing digests rather than keys
 * also hides the stored keys' lengths.
 */
function matchKey(keys: readonly StoredKey[], presented: string): string | undefined {
  if (presented.length > MAX_PRESENTED_LENGTH) return undefined;
  const digest = hash("sha256", presented, "buffer");
  let found: string | undefined;
  for (const key of keys) {
    const same = timingSafeEqual(digest, key.digest);
    found = same ? key.id : found;
  }
  return found;
}

/**
 * Reads one key per file. Names starting with a dot are skipped: they are hidden files and the
 * atomic-writer internals of a Secret volume (`..data`, `..2024_01_01_00_00_00.123`); the visible
 * names are symlinks into `..data`, which stat and read follow. Throws when the folder or a key
 * file cannot be read, so that a half-read folder never replaces a complete one.
 */
function readKeyDirectory(directory: string, log: Logger): StoredKey[] {
  const keys: StoredKey[] = [];
  const seen = new Map<string, string>();
  for (const name of readdirSync(directory).sort()) {
    if (name.startsWith(".")) continue;
    const path = join(directory, name);
    const stat = statSync(path);
    if (!stat.isFile()) continue;
    if (stat.size > MAX_KEY_FILE_BYTES) {
      log.warn({ directory, id: name, bytes: stat.size }, "API key file too large; skipped");
      continue;
    }
    const key = readFileSync(path, "utf8").trim();
    if (key === "") {
      log.warn({ directory, id: name }, "API key file is empty; skipped");
      continue;
    }
    const digest = hash("sha256", key, "buffer");
    const hex = digest.toString("hex");
    const twin = seen.get(hex);
    if (twin !== undefined) {
      log.warn({ directory, id: name, sameAs: twin }, "API key duplicates another key; skipped");
      continue;
    }
    seen.set(hex, name);
    keys.push({ id: name, digest });
  }
  return keys;
}

function sameKeys(a: readonly StoredKey[], b: readonly StoredKey[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((key, i) => {
    const other = b[i];
    return other !== undefined && key.id === other.id && key.digest.equals(other.digest);
  });
}
