/** Choosing the serving port and the capture mode. */
import type { V1Container } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parseAnnotations } from "../../injector/annotation-values.ts";
import { findServingPort, http2Problem, planCapture } from "../../injector/capture.ts";
import { parseSettings } from "../../injector/settings.ts";

const app = (ports: V1Container["ports"], env: V1Container["env"] = []): V1Container => ({
  name: "app",
  image: "i",
  ports,
  env,
});

describe("serving port", () => {
  it.each([
    ["the only declared port", [app([{ containerPort: 3000 }])], undefined, 3000],
    [
      "the port named http among several",
      [
        app([
          { containerPort: 9090, name: "metrics" },
          { containerPort: 80, name: "http" },
        ]),
      ],
      undefined,
      80,
    ],
    [
      "podgate.io/port by name",
      [
        app([
          { containerPort: 80, name: "http" },
          { containerPort: 81, name: "api" },
        ]),
      ],
      "api",
      81,
    ],
    [
      "podgate.io/port by number in a sidecar container",
      [app([]), { name: "b", ports: [{ containerPort: 7000 }] }],
      7000,
      7000,
    ],
    ["an undeclared podgate.io/port in a one-container pod", [app([])], 5000, 5000],
  ] as const)("is %s", (_name, containers, wanted, expected) => {
    const found = findServingPort([...containers] as V1Container[], wanted);
    expect("number" in found && found.number).toBe(expected);
  });

  it.each([
    [[app([])], undefined, "no container declares a port; set podgate.io/port"],
    [
      [app([{ containerPort: 1 }, { containerPort: 2 }])],
      undefined,
      "the pod declares 2 ports and none is named http; set podgate.io/port",
    ],
    [[app([{ containerPort: 1 }])], "web", "podgate.io/port names port web, which no container declares"],
  ] as const)("skips with no_serving_port: %s", (containers, wanted, message) => {
    expect(findServingPort([...containers] as V1Container[], wanted)).toEqual({
      reason: "no_serving_port",
      message,
    });
  });

  it.each([
    ["grpc", undefined, "port 9000 speaks gRPC"],
    ["grpc-api", undefined, "port 9000 speaks gRPC"],
    ["h2c", undefined, "port 9000 speaks h2c"],
    [undefined, { grpc: { port: 9000 } }, "port 9000 speaks gRPC"],
  ])("does not capture a port named %s or checked by %j", (name, probe, message) => {
    const container: V1Container = {
      name: "a",
      ports: [{ containerPort: 9000, ...(name ? { name } : {}) }],
      livenessProbe: probe,
    };
    const serving = findServingPort([container], undefined);
    if (!("number" in serving)) throw new Error("no serving port");
    expect(http2Problem(serving, [container])).toEqual({ reason: "grpc_port", message });
  });
});

describe("capture mode", () => {
  const plan = (container: V1Container, annotations: Record<string, string>, allowIptables = false) => {
    const serving = findServingPort([container], undefined);
    if (!("number" in serving)) throw new Error("no serving port");
    const result = planCapture({
      containers: [container],
      serving,
      annotations: parseAnnotations(annotations),
      settings: parseSettings({ allowIptables }),
    });
    return "mode" in result ? result.mode : result.reason;
  };

  it.each([
    [
      "port-env when PORT is the serving port",
      app([{ containerPort: 8080, name: "http" }], [{ name: "PORT", value: "8080" }]),
      {},
      false,
      "port-env",
    ],
    [
      "port-env with the variable podgate.io/app-port-env names",
      app([{ containerPort: 8080 }], [{ name: "HTTP_PORT", value: "8080" }]),
      { "podgate.io/app-port-env": "HTTP_PORT" },
      false,
      "port-env",
    ],
    [
      "named-port when PORT is another port",
      app([{ containerPort: 8080, name: "http" }], [{ name: "PORT", value: "9" }]),
      {},
      false,
      "named-port",
    ],
    ["iptables for an unnamed port where allowed", app([{ containerPort: 8080 }]), {}, true, "iptables"],
    [
      "no capture for an unnamed port where iptables is not allowed",
      app([{ containerPort: 8080 }]),
      {},
      false,
      "capture_unavailable",
    ],
    [
      "explicit named-port on an unnamed port",
      app([{ containerPort: 8080 }]),
      { "podgate.io/capture": "named-port" },
      true,
      "capture_unavailable",
    ],
    [
      "explicit iptables where not allowed",
      app([{ containerPort: 8080, name: "http" }]),
      { "podgate.io/capture": "iptables" },
      false,
      "capture_unavailable",
    ],
    [
      "explicit port-env without the variable",
      app([{ containerPort: 8080, name: "http" }]),
      { "podgate.io/capture": "port-env" },
      false,
      "port-env",
    ],
  ] as const)("auto/explicit: %s", (_name, container, annotations, allowIptables, expected) => {
    expect(plan(container, { ...annotations }, allowIptables)).toBe(expected);
  });
});
