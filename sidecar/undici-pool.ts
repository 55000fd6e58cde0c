import type { Pool as UndiciPool } from "undici";
// @ts-expect-error undici ships no types for its internal paths; the public type is applied below.
import PoolImplementation from "undici/lib/dispatcher/pool.js";

/**
 * undici's connection Pool, loaded on its own. `import { Pool } from "undici"` also loads fetch,
 * WebSocket, caching and the rest of undici: measured +28 MiB RSS against +15 MiB for the pool
 * alone, in a process whose memory target is 64 MiB. The types still come from the package.
 */
export const Pool = PoolImplementation as typeof UndiciPool;
export type Pool = UndiciPool;
