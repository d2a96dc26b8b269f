import { KubeConfig } from "@kubernetes/client-node";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify as stringifyYaml } from "yaml";
import { KubeconfigError, loadClusterAccess, systemIo } from "../../../operator/src/kube/kubeconfig.ts";

/**
 * A corpus of kubeconfigs, each loaded by Landlord's loader and by client-node's KubeConfig (the
 * reference the operator replaced), and the effective connection compared: server, CA, client
 * certificate and key, the Authorization header, namespace, tls-server-name, TLS verification and
 * impersonation. Where client-node departs from kubectl/client-go (each case says where), Landlord
 * follows kubectl and the test pins both behaviours; where Landlord refuses a feature, the test
 * pins its error.
 */

const dir = mkdtempSync(join(tmpdir(), "landlord-kubeconfig-conformance-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pem = (what: string): string => `-----BEGIN ${what}-----\n${Buffer.from(`${what} of the conformance corpus`).toString("base64")}\n-----END ${what}-----\n`;
const CA = pem("CERTIFICATE AUTHORITY");
const CERT = pem("CERTIFICATE");
const KEY = pem("PRIVATE KEY");
const b64 = (text: string): string => Buffer.from(text).toString("base64");

let fileNumber = 0;
/** Writes `files` (name → content) into a directory of their own; returns the paths in order. */
function corpus(files: Record<string, unknown>): string[] {
  const base = join(dir, `case-${++fileNumber}`);
  mkdirSync(base, { recursive: true });
  return Object.entries(files).map(([name, content]) => {
    const path = join(base, name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, typeof content === "string" ? content : stringifyYaml(content));
    return path;
  });
}

/** A kubeconfig with one cluster, user and context. */
function single(cluster: Record<string, unknown>, user: Record<string, unknown>, context: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "c", cluster: { server: "https://api.example.test:6443", ...cluster } }],
    users: [{ name: "u", user }],
    contexts: [{ name: "ctx", context: { cluster: "c", user: "u", ...context } }],
    "current-context": "ctx",
  };
}

/** What a client ends up connecting with, in one shape for both loaders. */
interface Effective {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  authorization?: string;
  namespace?: string;
  tlsServerName?: string;
  insecure: boolean;
  impersonate: Record<string, string | string[]>;
}

const text = (value: unknown): string | undefined => (value === undefined || value === null ? undefined : Buffer.isBuffer(value) ? value.toString("utf8") : String(value));
const defined = <T extends object>(object: T): T => Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T;

async function landlord(files: string[]): Promise<Effective> {
  const access = loadClusterAccess(undefined, { io: { ...systemIo, env: { KUBECONFIG: files.join(delimiter), PATH: process.env.PATH } }, home: dir });
  const credentials = await access.credentials();
  const impersonate = Object.fromEntries(Object.entries(access.headers).filter(([name]) => name.startsWith("Impersonate-")));
  return defined({
    server: access.server,
    ca: text(access.ca),
    cert: text(credentials.cert ?? access.cert),
    key: text(credentials.key ?? access.key),
    authorization: credentials.authorization,
    namespace: access.namespace,
    tlsServerName: access.tlsServerName,
    insecure: access.insecureSkipTlsVerify,
    impersonate,
  });
}

/** client-node as `loadFromDefault` reads KUBECONFIG, keeping the first file's current-context (kubectl's rule). */
async function clientNode(files: string[]): Promise<Effective> {
  const kc = new KubeConfig();
  const saved = process.env.KUBECONFIG;
  process.env.KUBECONFIG = files.join(delimiter);
  try {
    kc.loadFromDefault(undefined, true);
  } finally {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  }
  const cluster = kc.getCurrentCluster();
  const opts: { ca?: Buffer; cert?: Buffer | string; key?: Buffer | string; headers?: Record<string, string | string[]>; auth?: string; servername?: string; rejectUnauthorized?: boolean } = {};
  await kc.applyToHTTPSOptions(opts);
  const headers = opts.headers ?? {};
  return defined({
    server: cluster?.server ?? "",
    ca: text(opts.ca),
    cert: text(opts.cert),
    key: text(opts.key),
    authorization: opts.auth ? `Basic ${b64(opts.auth)}` : text(headers.Authorization),
    namespace: kc.getContextObject(kc.getCurrentContext())?.namespace,
    tlsServerName: opts.servername,
    insecure: opts.rejectUnauthorized === false,
    impersonate: Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith("Impersonate-"))),
  });
}

/** An exec credential plugin: a shell script printing `status` as an ExecCredential of `apiVersion`. */
function plugin(name: string, apiVersion: string, status: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\ncat <<'EOF'\n${JSON.stringify({ apiVersion, kind: "ExecCredential", status })}\nEOF\n`);
  chmodSync(path, 0o755);
  return path;
}

const AGREE: Array<[string, () => string[], Partial<Effective>]> = [
  [
    "an inline token, CA data and a namespace",
    () => corpus({ config: single({ "certificate-authority-data": b64(CA) }, { token: "abc.def" }, { namespace: "team-a" }) }),
    { ca: CA, authorization: "Bearer abc.def", namespace: "team-a" },
  ],
  [
    "an inline client certificate and key",
    () => corpus({ config: single({ "certificate-authority-data": b64(CA) }, { "client-certificate-data": b64(CERT), "client-key-data": b64(KEY) }) }),
    { ca: CA, cert: CERT, key: KEY },
  ],
  [
    "CA, certificate and key from files, relative to the kubeconfig's directory",
    () => corpus({ "pki/ca.crt": CA, "pki/client.crt": CERT, "pki/client.key": KEY, "kube/config": single({ "certificate-authority": "../pki/ca.crt" }, { "client-certificate": "../pki/client.crt", "client-key": "../pki/client.key" }) }).slice(3),
    { ca: CA, cert: CERT, key: KEY },
  ],
  ["basic auth", () => corpus({ config: single({}, { username: "admin", password: "s3cret" }) }), { authorization: `Basic ${b64("admin:s3cret")}` }],
  ["tls-server-name", () => corpus({ config: single({ "certificate-authority-data": b64(CA), "tls-server-name": "kubernetes.default" }, { token: "t" }) }), { tlsServerName: "kubernetes.default" }],
  ["insecure-skip-tls-verify without a CA", () => corpus({ config: single({ "insecure-skip-tls-verify": true }, { token: "t" }) }), { insecure: true }],
  [
    "several contexts: current-context picks the second cluster, user and namespace",
    () =>
      corpus({
        config: {
          clusters: [
            { name: "prod", cluster: { server: "https://prod.example.test" } },
            { name: "staging", cluster: { server: "https://staging.example.test:8443/k8s" } },
          ],
          users: [
            { name: "prod-admin", user: { token: "prod-token" } },
            { name: "staging-dev", user: { token: "staging-token" } },
          ],
          contexts: [
            { name: "prod", context: { cluster: "prod", user: "prod-admin", namespace: "p" } },
            { name: "staging", context: { cluster: "staging", user: "staging-dev", namespace: "s" } },
          ],
          "current-context": "staging",
        },
      }),
    { server: "https://staging.example.test:8443/k8s", authorization: "Bearer staging-token", namespace: "s" },
  ],
  [
    "an exec plugin returning a token (client.authentication.k8s.io/v1)",
    () => corpus({ config: single({}, { exec: { apiVersion: "client.authentication.k8s.io/v1", command: plugin("token-plugin", "client.authentication.k8s.io/v1", { token: "from-exec" }), interactiveMode: "Never" } }) }),
    { authorization: "Bearer from-exec" },
  ],
  [
    "an exec plugin returning a client certificate (v1beta1)",
    () =>
      corpus({
        config: single({}, { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: plugin("cert-plugin", "client.authentication.k8s.io/v1beta1", { clientCertificateData: CERT, clientKeyData: KEY }) } }),
      }),
    { cert: CERT, key: KEY },
  ],
  [
    "a merged KUBECONFIG list: a missing file skipped, contexts from the first, cluster and user from the second",
    () => {
      const [contexts = "", credentials = ""] = corpus({
        contexts: { contexts: [{ name: "picked", context: { cluster: "c", user: "u", namespace: "merged" } }], "current-context": "picked" },
        credentials: { clusters: [{ name: "c", cluster: { server: "https://merged.example.test", "certificate-authority-data": b64(CA) } }], users: [{ name: "u", user: { token: "merged-token" } }] },
      });
      return [join(dir, "does-not-exist"), contexts, credentials];
    },
    { server: "https://merged.example.test", ca: CA, authorization: "Bearer merged-token", namespace: "merged" },
  ],
  ["impersonating a user (as)", () => corpus({ config: single({}, { token: "t", as: "jane" }) }), { impersonate: { "Impersonate-User": "jane" } }],
];

describe("Landlord's kubeconfig loader and client-node's KubeConfig agree", () => {
  it.each(AGREE)("%s", async (_, make, expected) => {
    const files = make();
    const ours = await landlord(files);
    const theirs = await clientNode(files.filter((file) => !file.endsWith("does-not-exist")));
    expect(ours).toEqual(theirs);
    expect(ours).toMatchObject({ server: "https://api.example.test:6443", insecure: false, impersonate: {}, ...expected });
  });
});

describe("where client-node departs from kubectl, Landlord follows kubectl", () => {
  it("tokenFile (client-go's field name) is read, and re-read at each call; client-node only knows `token-file`", async () => {
    const [token = "", config = ""] = corpus({ token: "file-token\n", config: single({}, { tokenFile: "token" }) });
    expect((await landlord([config])).authorization).toBe("Bearer file-token");
    expect((await clientNode([config])).authorization).toBeUndefined();
    writeFileSync(token, "rotated\n");
    expect((await landlord([config])).authorization).toBe("Bearer rotated");
  });

  it("as-groups, as-uid and as-user-extra are sent (dropping them would act as someone else); client-node sends only Impersonate-User", async () => {
    const files = corpus({ config: single({}, { token: "t", as: "jane", "as-uid": "42", "as-groups": ["dev", "ops"], "as-user-extra": { "acme.com/project": ["a", "b"] } }) });
    expect((await landlord(files)).impersonate).toEqual({
      "Impersonate-User": "jane",
      "Impersonate-Uid": "42",
      "Impersonate-Group": ["dev", "ops"],
      "Impersonate-Extra-acme.com%2Fproject": ["a", "b"],
    });
    expect((await clientNode(files)).impersonate).toEqual({ "Impersonate-User": "jane" });
  });

  it("a name defined in two files of a list: the first wins (kubectl); client-node throws", async () => {
    const files = corpus({
      first: single({ "certificate-authority-data": b64(CA) }, { token: "first" }),
      second: { ...single({}, { token: "second" }), clusters: [{ name: "c", cluster: { server: "https://second.example.test" } }] },
    });
    expect(await landlord(files)).toMatchObject({ server: "https://api.example.test:6443", authorization: "Bearer first" });
    await expect(clientNode(files)).rejects.toThrow(/Duplicate cluster: c/);
  });

  it("the current-context comes from the first file that sets one (kubectl); client-node keeps the first file's even when it sets none", async () => {
    const files = corpus({
      first: { clusters: [{ name: "other", cluster: { server: "https://other.example.test" } }] },
      second: single({}, { token: "t" }),
    });
    expect((await landlord(files)).server).toBe("https://api.example.test:6443");
    const kc = new KubeConfig();
    process.env.KUBECONFIG = files.join(delimiter);
    try {
      kc.loadFromDefault(undefined, true);
    } finally {
      delete process.env.KUBECONFIG;
    }
    expect(kc.getCurrentContext()).toBeUndefined();
  });
});

describe("what Landlord refuses, with a clear error (client-node loads each of these)", () => {
  it.each([
    ["a legacy auth-provider", single({}, { "auth-provider": { name: "gcp", config: {} } }), /authenticates with the auth-provider "gcp", which Landlord does not support; use an exec credential plugin instead/],
    ["proxy-url", single({ "proxy-url": "http://proxy.example.test:3128" }, { token: "t" }), /sets proxy-url, which Landlord does not support; reach the API server directly/],
    ["a plain http:// server", single({ server: "http://api.example.test:8080", "insecure-skip-tls-verify": true }, { token: "t" }), /the server http:\/\/api\.example\.test:8080 is not https; Landlord only talks to API servers over TLS/],
    [
      "an exec plugin that needs a terminal",
      single({}, { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "kubelogin", interactiveMode: "Always" } }),
      /the exec plugin needs an interactive terminal \(interactiveMode: Always\), which Landlord never has/,
    ],
    ["an exec plugin of an old API version", single({}, { exec: { apiVersion: "client.authentication.k8s.io/v1alpha1", command: "old-plugin" } }), /exec apiVersion "client\.authentication\.k8s\.io\/v1alpha1" is not supported/],
    [
      "a CA together with insecure-skip-tls-verify (kubectl refuses it too)",
      single({ "certificate-authority-data": b64(CA), "insecure-skip-tls-verify": true }, { token: "t" }),
      /sets both a certificate-authority and insecure-skip-tls-verify/,
    ],
  ])("%s", async (_, config, message) => {
    const files = corpus({ config });
    const kc = new KubeConfig();
    kc.loadFromFile(files[0] as string);
    expect(kc.getCurrentCluster()).not.toBeNull();
    const error = await landlord(files).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeconfigError);
    expect((error as Error).message).toMatch(message);
    // One line that names the file it came from.
    expect((error as Error).message).toContain(files[0]);
    expect((error as Error).message).not.toContain("\n");
  });
});
