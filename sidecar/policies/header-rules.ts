import { validateHeaderName, validateHeaderValue } from "node:http";
import { editsOf, type HeaderEdits, type Policy, type RequestContext } from "../chain.ts";
import { ConfigInvalidError } from "../errors.ts";
import type { HeaderRulesConfig } from "../policy-config.ts";

/**
 * Header rules: add, set and remove request headers (sent to the app) and response headers (sent to
 * the client), from `policies.headers`. `remove` drops every copy, `set` replaces every copy with
 * one value, `add` appends a value; the data plane applies them in that order, so a removed or set
 * header that the client sent never reaches the app, whatever its case. The request-side rules
 * also drop underscore twins (`X_User_Id` for `x-user-id`): CGI-style servers (PHP, WSGI, Rack)
 * read both as `HTTP_X_USER_ID`, so a twin would smuggle a removed header back.
 *
 * The edit lists are compiled and validated once; per request they are copied into the request's
 * edits (the data plane only reads those). Headers that carry message framing or hop-by-hop meaning
 * (Content-Length, Transfer-Encoding, Connection, ...) cannot be edited: that would desynchronize
 * the gateway and the app (request smuggling). Default: no edits.
 * @example headerRules({ request: { add: {}, set: { "x-env": "prod" }, remove: ["x-debug"] }, response: { add: {}, set: { "x-frame-options": "DENY" }, remove: ["server", "x-powered-by"] } })
 */
export function headerRules(config: HeaderRulesConfig): Policy {
  const problems: string[] = [];
  const request = withDashedTwins(compileEdits(config.request, "policies.headers.request", problems));
  const response = compileEdits(config.response, "policies.headers.response", problems);
  if (problems.length > 0) throw new ConfigInvalidError(problems);
  const guarded = request === undefined ? undefined : guardedNames(request);
  return {
    name: "header-rules",
    evaluate: function applyHeaderRules(context) {
      if (request !== undefined) {
        const edits = editsOf(context, "upstream");
        append(edits, request);
        if (guarded !== undefined) removeUnderscoreTwins(edits, context, guarded);
      }
      if (response !== undefined) append(editsOf(context, "response"), response);
      return undefined;
    },
  };
}

/** True when the config has an edit to make; an empty `headers` section compiles to no policy. */
export function hasHeaderRules(config: HeaderRulesConfig | undefined): config is HeaderRulesConfig {
  return config !== undefined && (!isEmpty(config.request) || !isEmpty(config.response));
}

type EditsConfig = NonNullable<HeaderRulesConfig["request"]>;

function isEmpty(edits: EditsConfig | undefined): boolean {
  return (
    edits === undefined ||
    (Object.keys(edits.add).length === 0 && Object.keys(edits.set).length === 0 && edits.remove.length === 0)
  );
}

/** Framing and hop-by-hop fields (RFC 9112 §6, RFC 9110 §7.6.1): editing them desynchronizes peers. */
const NOT_EDITABLE = new Set([
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "upgrade",
  "expect",
  "host",
]);

function compileEdits(
  edits: EditsConfig | undefined,
  path: string,
  problems: string[],
): Readonly<HeaderEdits> | undefined {
  if (isEmpty(edits) || edits === undefined) return undefined;
  const check = (name: string, where: string, value?: string) => {
    const problem = fieldProblem(name, value);
    if (problem !== undefined) problems.push(`${path}.${where}: ${problem}`);
  };
  const flat = (kind: "add" | "set") =>
    Object.entries(edits[kind]).flatMap(([name, value]) => {
      check(name, `${kind}.${name}`, value);
      return [name, value];
    });
  const add = flat("add");
  const set = flat("set");
  edits.remove.forEach((name, i) => {
    check(name, `remove[${i}]`);
  });
  const remove = [...edits.remove];
  return Object.freeze({
    set: Object.freeze(set),
    add: Object.freeze(add),
    remove: Object.freeze(remove),
  }) as HeaderEdits;
}

function fieldProblem(name: string, value: string | undefined): string | undefined {
  try {
    validateHeaderName(name);
    if (value !== undefined) validateHeaderValue(name, value);
  } catch {
    return `expected a header name token and a value without control characters, got ${JSON.stringify(name)}`;
  }
  if (NOT_EDITABLE.has(name.toLowerCase())) {
    return `${JSON.stringify(name)} carries framing or hop-by-hop meaning and cannot be edited`;
  }
  return undefined;
}

/**
 * The names the request rules remove or set, lower-cased with `_` read as `-`: no client copy of
 * them may get through. A configured name with `_` also removes its all-`-` twin, once, here.
 */
function guardedNames(request: Readonly<HeaderEdits>): ReadonlySet<string> | undefined {
  const names = new Set(request.remove.map(twinKey));
  for (let i = 0; i < request.set.length; i += 2) names.add(twinKey(request.set[i] as string));
  return names.size > 0 ? names : undefined;
}

const twinKey = (name: string) => name.toLowerCase().replaceAll("_", "-");

/** The request edits plus the all-`-` twins of configured names that contain `_`. */
function withDashedTwins(request: Readonly<HeaderEdits> | undefined): Readonly<HeaderEdits> | undefined {
  if (request === undefined) return undefined;
  const configured = [...request.remove];
  for (let i = 0; i < request.set.length; i += 2) configured.push(request.set[i] as string);
  const twins = configured.filter((name) => name.includes("_")).map(twinKey);
  if (twins.length === 0) return request;
  return Object.freeze({ ...request, remove: Object.freeze([...request.remove, ...twins]) as string[] });
}

function append(target: HeaderEdits, source: Readonly<HeaderEdits>): void {
  for (const item of source.set) target.set.push(item);
  for (const item of source.add) target.add.push(item);
  for (const item of source.remove) target.remove.push(item);
}

function removeUnderscoreTwins(
  edits: HeaderEdits,
  context: RequestContext,
  guarded: ReadonlySet<string>,
): void {
  const raw = context.req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.includes("_") && guarded.has(twinKey(name))) edits.remove.push(name);
  }
}
