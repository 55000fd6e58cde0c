import { describe, expect, it } from "vitest";
import { normalizePath } from "../../sidecar/path.ts";

const keep = { mergeSlashes: false };
const merge = { mergeSlashes: true };

describe("normalizePath", () => {
  it.each([
    ["/", "/", "/"],
    ["/a/b?x=1&y=%2F", "/a/b", "/a/b?x=1&y=%2F"],
    ["/a/%7Euser", "/a/~user", "/a/~user"],
    ["/files/a%20b", "/files/a b", "/files/a%20b"],
    ["/caf%C3%A9", "/café", "/caf%C3%A9"],
    ["/a/%25252e", "/a/%252e", "/a/%25252e"],
    ["/a/%2541", "/a/%41", "/a/%2541"],
    ["/.well-known/x", "/.well-known/x", "/.well-known/x"],
    ["/a/..b/c", "/a/..b/c", "/a/..b/c"],
    ["/a//b", "/a//b", "/a//b"],
    ["/a/b/", "/a/b/", "/a/b/"],
    ["/a/%3a@!$&'()*+,;=", "/a/:@!$&'()*+,;=", "/a/:@!$&'()*+,;="],
  ])("canonicalizes %s to path %s and forwards %s", (target, path, forward) => {
    expect(normalizePath(target, keep)).toEqual({ path, forward });
  });

  it.each([
    ["/a/../admin", "dot segment"],
    ["/a/./b", "dot segment"],
    ["/a/%2e%2e/admin", "dot segment"],
    ["/a/.%2E/admin", "dot segment"],
    ["/a/%2E/b", "dot segment"],
    ["/a/..;/admin", "dot segment"],
    ["/..", "dot segment"],
    ["/a%2fb", "encoded slash"],
    ["/a%2Fb", "encoded slash"],
    ["/a%5cb", "encoded backslash"],
    ["/a\\b", "backslash"],
    ["/a%00b", "NUL"],
    ["/a%0d%0ab", "NUL or control"],
    ["/a%zzb", "invalid percent-encoding"],
    ["/a%4", "invalid percent-encoding"],
    ["/a%C3%28", "UTF-8"],
    ["/a#frag", "fragment"],
    ["/a?x#frag", "fragment"],
    ["http://evil.example/admin", "absolute-form"],
    ["*", "absolute-form"],
    ["", "must be a path"],
  ])("rejects %s (%s)", (target, why) => {
    const result = normalizePath(target, keep);
    expect(result).toHaveProperty("rejected");
    expect((result as { rejected: string }).rejected).toContain(why);
  });

  it.each([
    ["//a//b", "/a/b"],
    ["/a///b/", "/a/b/"],
    ["//", "/"],
  ])("merges slashes in %s when asked", (target, path) => {
    expect(normalizePath(target, merge)).toEqual({ path, forward: path });
  });
});
