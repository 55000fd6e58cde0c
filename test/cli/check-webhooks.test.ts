/** Which Secret holds a webhook pod's serving certificate: what `podgate check` reads to compare with the caBundle. */
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { servingSecretOf } from "../../cli/check-webhooks.ts";

describe("the serving certificate's Secret, read from a webhook pod", () => {
  const pod = (args: string[], volumes: V1Pod["spec"] = { containers: [] }): V1Pod => ({
    spec: {
      ...volumes,
      containers: [{ name: "webhook", args, volumeMounts: [{ name: "tls", mountPath: "/etc/podgate/tls" }] }],
    },
  });
  it.each([
    [
      "--certificate-secret NAME",
      pod(["--manage-certificates", "--certificate-secret", "self-tls"]),
      "self-tls",
    ],
    ["--certificate-secret=NAME", pod(["--certificate-secret=eq-tls"]), "eq-tls"],
    [
      "the Secret volume where --tls-cert points (cert-manager)",
      pod(["--tls-cert", "/etc/podgate/tls/tls.crt"], {
        containers: [],
        volumes: [{ name: "tls", secret: { secretName: "cm-tls" } }],
      }),
      "cm-tls",
    ],
    ["nothing to go by", pod(["--tls-cert", "/elsewhere/tls.crt"]), undefined],
  ])("reads %s", (_what, webhookPod, expected) => {
    expect(servingSecretOf(webhookPod)).toBe(expected);
  });
});
