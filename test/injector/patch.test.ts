/** RFC 6902 patches: RFC 6901 escaping, adds to absent arrays and maps, checked with fast-json-patch. */
import fastJsonPatch from "fast-json-patch";
import { describe, expect, it } from "vitest";
import { escapeToken, PatchBuilder, pointer } from "../../injector/patch.ts";

function applyWithReference(document: object, builder: PatchBuilder<object>): unknown {
  const operations = builder.operations as fastJsonPatch.Operation[];
  return fastJsonPatch.applyPatch(structuredClone(document), operations, true, false).newDocument;
}

describe("JSON Pointer escaping (RFC 6901)", () => {
  it.each([
    ["podgate.io/status", "podgate.io~1status"],
    ["a~b", "a~0b"],
    ["~/", "~0~1"],
    ["~1", "~01"],
  ])("escapes %j as %j", (token, escaped) => {
    expect(escapeToken(token)).toBe(escaped);
  });

  it("builds pointers from tokens", () => {
    expect(pointer(["metadata", "annotations", "example.com/a~b"])).toBe(
      "/metadata/annotations/example.com~1a~0b",
    );
  });
});

describe("PatchBuilder", () => {
  it("adds a map when it is absent and a key when it is present", () => {
    const document = { metadata: { name: "p" } as Record<string, unknown> };
    const builder = new PatchBuilder(document);
    builder.setEntry(["metadata", "labels"], "podgate.io/injected", "true");
    builder.setEntry(["metadata", "labels"], "tilde~key/x", "1");
    expect(builder.operations).toEqual([
      { op: "add", path: "/metadata/labels", value: { "podgate.io/injected": "true" } },
      { op: "add", path: "/metadata/labels/tilde~0key~1x", value: "1" },
    ]);
    expect(applyWithReference(document, builder)).toEqual(builder.document);
  });

  it("creates an absent array instead of adding to /-", () => {
    const document = { spec: { containers: [{ name: "app" }] } as Record<string, unknown> };
    const builder = new PatchBuilder(document);
    builder.insert(["spec", "initContainers"], 0, { name: "b" });
    builder.insert(["spec", "initContainers"], 0, { name: "a" });
    builder.insert(["spec", "containers"], 0, { name: "first" });
    expect(builder.operations.map((op) => `${op.op} ${op.path}`)).toEqual([
      "add /spec/initContainers",
      "add /spec/initContainers/0",
      "add /spec/containers/0",
    ]);
    expect(applyWithReference(document, builder)).toEqual({
      spec: {
        containers: [{ name: "first" }, { name: "app" }],
        initContainers: [{ name: "a" }, { name: "b" }],
      },
    });
  });

  it("diffs an object member by member: replace, add and remove", () => {
    const before = { name: "app", env: [{ name: "PORT", value: "8080" }], ports: [{ containerPort: 8080 }] };
    const after = { name: "app", env: [{ name: "PORT", value: "15081" }], args: ["x"] };
    const document = { c: before };
    const builder = new PatchBuilder(document);
    builder.diff(["c"], before, after);
    expect(builder.operations).toEqual([
      { op: "remove", path: "/c/ports" },
      { op: "replace", path: "/c/env", value: after.env },
      { op: "add", path: "/c/args", value: ["x"] },
    ]);
    expect(applyWithReference(document, builder)).toEqual({ c: after });
  });

  it("never shares objects between the patch and the document", () => {
    const value = { a: 1 };
    const builder = new PatchBuilder({} as Record<string, unknown>);
    builder.set(["x"], value);
    value.a = 2;
    expect(builder.document).toEqual({ x: { a: 1 } });
    expect(builder.operations[0]).toEqual({ op: "add", path: "/x", value: { a: 1 } });
  });

  it("appends to an absent array by creating it, then at the next index", () => {
    const document = { spec: { containers: [] } as Record<string, unknown> };
    const builder = new PatchBuilder(document);
    builder.append(["spec", "volumes"], { name: "a" });
    builder.append(["spec", "volumes"], { name: "b" });
    expect(builder.operations.map((op) => `${op.op} ${op.path}`)).toEqual([
      "add /spec/volumes",
      "add /spec/volumes/1",
    ]);
    expect(applyWithReference(document, builder)).toEqual({
      spec: { containers: [], volumes: [{ name: "a" }, { name: "b" }] },
    });
  });
});
