import { describe, expect, it } from "vitest";
import { compileRedactor, maskCardNumbers, passesLuhn, redactValue } from "../../sidecar/redact.ts";

describe("redaction", () => {
  it.each([
    ["/cards/4111111111111111", "/cards/411111******1111"],
    ["/cards/4111-1111-1111-1111/x", "/cards/411111******1111/x"],
    ["pan 5500 0000 0000 0004 end", "pan 550000******0004 end"],
    ["/amex/378282246310005", "/amex/378282*****0005"],
    ["/orders/4111111111111112", "/orders/4111111111111112"],
    ["/short/411111111111", "/short/411111111111"],
    ["/ids/12345678901234567890123", "/ids/12345678901234567890123"],
  ])("masks card numbers that pass Luhn: %s", (input, expected) => {
    expect(maskCardNumbers(input)).toBe(expected);
  });

  it("checks Luhn", () => {
    expect(passesLuhn("4111111111111111")).toBe(true);
    expect(passesLuhn("4111111111111112")).toBe(false);
  });

  it("replaces configured patterns (US SSN for hipaa) as well as card numbers", () => {
    const redact = compileRedactor([{ name: "ssn", pattern: "\\b\\d{3}-\\d{2}-\\d{4}\\b" }]);
    expect(redact("/patients/123-45-6789/cards/4111111111111111")).toBe(
      "/patients/[redacted:ssn]/cards/411111******1111",
    );
  });

  it("replaces credential headers whole and masks card numbers in other header values", () => {
    expect(
      redactValue({
        authorization: "Bearer abc",
        cookie: "s=1",
        "x-api-key": "k",
        "x-auth-token": "t",
        "x-card": "4111 1111 1111 1111",
        accept: "*/*",
      }),
    ).toEqual({
      authorization: "[redacted]",
      cookie: "[redacted]",
      "x-api-key": "[redacted]",
      "x-auth-token": "[redacted]",
      "x-card": "411111******1111",
      accept: "*/*",
    });
  });

  it("keeps dates, and logs bytes as their length rather than copying them", () => {
    const when = new Date(0);
    expect(redactValue({ when, body: Buffer.from("4111111111111111"), raw: new ArrayBuffer(4) })).toEqual({
      when,
      body: "[16 bytes]",
      raw: "[4 bytes]",
    });
  });

  it("redacts nested log objects for the webhook and error logs", () => {
    const cause = new Error("socket 4111111111111111");
    const redacted = redactValue({
      pod: "p",
      annotations: { token: "t", note: "card 4111111111111111" },
      err: Object.assign(new RangeError("pan 4111111111111111", { cause }), { apiKey: "k", code: "E1" }),
    }) as { err: RangeError & { apiKey: string; code: string; cause: Error } };
    expect(redacted).toMatchObject({
      pod: "p",
      annotations: { token: "[redacted]", note: "card 411111******1111" },
    });
    expect(redacted.err).toBeInstanceOf(RangeError);
    expect(redacted.err.message).toBe("pan 411111******1111");
    expect(redacted.err.stack).toMatch(/^RangeError: pan 411111\*{6}1111\n\s+at /);
    expect(redacted.err.cause.message).toBe("socket 411111******1111");
    expect({ apiKey: redacted.err.apiKey, code: redacted.err.code }).toEqual({
      apiKey: "[redacted]",
      code: "E1",
    });
  });
});
