/** Cluster settings: defaults, every problem at once, zone floors checked by the sidecar's schema. */
import { describe, expect, it } from "vitest";
import { SettingsInvalidError } from "../../injector/errors.ts";
import { DEFAULT_SETTINGS, parseSettings } from "../../injector/settings.ts";

describe("cluster settings", () => {
  it("defaults every field and ships the pci and hipaa zones", () => {
    const settings = parseSettings({});
    expect(settings).toEqual(DEFAULT_SETTINGS);
    expect(Object.keys(settings.zones)).toEqual(["pci", "hipaa"]);
    expect(Object.isFrozen(settings.sidecar.resources.requests)).toBe(true);
  });

  it("adds zones and replaces a shipped one of the same name", () => {
    const settings = parseSettings({
      zones: { internal: { config: { limits: { maxBodyBytes: 100 } } }, pci: { allowOptOut: true } },
    });
    expect(Object.keys(settings.zones)).toEqual(["pci", "hipaa", "internal"]);
    expect(settings.zones.pci?.allowOptOut).toBe(true);
  });

  it("reports every problem with its path", () => {
    let error: unknown;
    try {
      parseSettings({
        nativeSidecar: "auto",
        allowIptables: "yes",
        sidecar: { adminPort: 15080, resources: { requests: { cpu: "lots" } } },
        zones: {
          strict: { config: { limits: { maxBodyBytes: -1 }, drain: { delayMs: 1 } }, tls: "ssl" },
        },
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SettingsInvalidError);
    expect((error as SettingsInvalidError).code).toBe("PODGATE_INJECT_SETTINGS_INVALID");
    expect((error as SettingsInvalidError).problems).toEqual([
      "nativeSidecar: unknown key; expected one of webhookNamespace, nativeSidecars, allowPodOptIn, allowIptables, captureImage, sidecar, zones",
      'allowIptables: expected true or false, got "yes"',
      'sidecar.resources.requests: expected a map of resource names to quantities, got {"cpu":"lots"}',
      "sidecar: dataPort, adminPort and appPort must differ",
      'zones.strict.tls: expected one of none, tls, mtls, got "ssl"',
      "zones.strict.config.limits.maxBodyBytes: expected a positive integer, got -1",
      expect.stringMatching(
        /^zones\.strict\.config\.drain\.delayMs: a floor cannot set this field; floors may set limits\.maxBodyBytes, .*policies\.lockout\.maxFailures/,
      ),
    ]);
  });
});
