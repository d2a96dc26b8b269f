import { describe, expect, it } from "vitest";
import { csvField } from "../../../operator/src/cli/output.ts";
import { createPrometheusClient, PrometheusError } from "../../../operator/src/policy/prometheus.ts";
import { secretEnvValues } from "../../../operator/src/provision/pulumi.ts";
import { redact } from "../../../operator/src/provision/pulumiErrors.ts";

/** Issue 15, item 8: small leaks and injections at the edges. */

describe("-o csv", () => {
  it("keeps a cell a spreadsheet would run as a formula as text", () => {
    expect(csvField("=HYPERLINK(\"http://evil\",\"x\")")).toBe("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"");
    expect(csvField("+cmd|' /C calc'!A0")).toBe("'+cmd|' /C calc'!A0");
    expect(csvField("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvField("-2+3")).toBe("'-2+3");
  });

  it("leaves numbers and ordinary text alone", () => {
    expect(csvField("-12.50")).toBe("-12.50");
    expect(csvField("acme")).toBe("acme");
    expect(csvField("a,b")).toBe("\"a,b\"");
  });
});

describe("Prometheus credentials", () => {
  it("are refused over plain http to another host", () => {
    expect(() => createPrometheusClient({ url: "http://prometheus.monitoring:9090", bearerToken: () => "t" })).toThrow(PrometheusError);
    expect(() => createPrometheusClient({ url: "http://user:pw@prometheus.monitoring:9090" })).toThrow(/refusing to send Prometheus credentials over plain http/);
  });

  it("are allowed over https, over loopback, and no credentials over http at all", () => {
    expect(createPrometheusClient({ url: "https://prometheus.monitoring:9090", bearerToken: () => "t" }).url).toBe("https://prometheus.monitoring:9090");
    expect(createPrometheusClient({ url: "http://127.0.0.1:9090", bearerToken: () => "t" }).url).toBe("http://127.0.0.1:9090");
    expect(createPrometheusClient({ url: "http://prometheus.monitoring:9090" }).url).toBe("http://prometheus.monitoring:9090");
  });
});

describe("Pulumi errors", () => {
  it("scrub the process environment's AWS keys and passphrase, not only the CLI's own env", () => {
    const processEnv = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE123", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG", AWS_SESSION_TOKEN: "FwoGZXIvYXdzEJr", PULUMI_CONFIG_PASSPHRASE: "correct horse", HOME: "/tmp" };
    const secrets = secretEnvValues(processEnv, {});
    expect(secrets.sort()).toEqual(["AKIAEXAMPLE123", "FwoGZXIvYXdzEJr", "correct horse", "wJalrXUtnFEMI/K7MDENG"].sort());
    const text = redact("error: passphrase 'correct horse' and key AKIAEXAMPLE123 / wJalrXUtnFEMI/K7MDENG rejected in /tmp", secrets);
    expect(text).toBe("error: passphrase '[secret]' and key [secret] / [secret] rejected in /tmp");
  });
});
