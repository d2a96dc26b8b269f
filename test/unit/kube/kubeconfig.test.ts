import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  inClusterAccess,
  KubeconfigError,
  loadClusterAccess,
  mergeKubeconfigs,
  parseKubeconfig,
  resolveClusterAccess,
  systemIo,
  type AccessIo,
} from "../../../operator/src/kube/kubeconfig.ts";

const dir = mkdtempSync(join(tmpdir(), "landlord-kubeconfig-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Writes `content` to a fresh file under the test directory; returns its path. */
function file(name: string, content: string | object): string {
  const path = join(dir, `${files++}-${name}`);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

const b64 = (text: string): string => Buffer.from(text).toString("base64");

/** A one-context kubeconfig whose cluster and user are `cluster` and `user`. */
function config(user: Record<string, unknown>, cluster: Record<string, unknown> = { server: "https://k8s.example:6443" }) {
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "c", cluster }],
    users: [{ name: "u", user }],
    contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
    "current-context": "ctx",
  };
}

const access = (user: Record<string, unknown>, cluster?: Record<string, unknown>, io: AccessIo = systemIo) =>
  resolveClusterAccess(parseKubeconfig(JSON.stringify(config(user, cluster)), join(dir, "kubeconfig")), io);

const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
};

describe("parseKubeconfig", () => {
  it("reads YAML, resolves relative paths against the file's directory, and keeps absolute ones", () => {
    const parsed = parseKubeconfig(
      `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://k8s.example:6443
    certificate-authority: certs/ca.crt
users:
- name: u
  user:
    client-certificate: /abs/client.crt
    client-key: client.key
    tokenFile: ../token
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/plugin
- name: v
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: aws
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
`,
      "/home/me/.kube/config",
    );
    expect(parsed.clusters.get("c")?.["certificate-authority"]).toBe("/home/me/.kube/certs/ca.crt");
    expect(parsed.users.get("u")).toMatchObject({ "client-certificate": "/abs/client.crt", "client-key": "/home/me/.kube/client.key", tokenFile: "/home/me/token" });
    expect(parsed.users.get("u")?.exec?.command).toBe("/home/me/.kube/bin/plugin");
    // A bare command is looked up on PATH, not next to the kubeconfig.
    expect(parsed.users.get("v")?.exec?.command).toBe("aws");
    expect(parsed.currentContext).toBe("ctx");
  });

  it("takes JSON and an empty file; rejects what is not a kubeconfig, naming the file", () => {
    expect(parseKubeconfig(JSON.stringify(config({ token: "t" })), "/k").contexts.get("ctx")).toEqual({ cluster: "c", user: "u" });
    expect(parseKubeconfig("", "/empty").clusters.size).toBe(0);
    expect(errorOf(() => parseKubeconfig("clusters: [", "/bad")).message).toMatch(/^kubeconfig \/bad is not valid YAML: /);
    expect(errorOf(() => parseKubeconfig("- a\n- b\n", "/list")).message).toMatch(/^kubeconfig \/list is not a kubeconfig/);
    expect(errorOf(() => parseKubeconfig("clusters: [{cluster: {}}]", "/noname")).message).toBe("kubeconfig /noname: every entry of clusters needs a name");
  });
});

describe("mergeKubeconfigs", () => {
  it("merges as kubectl does: the first definition of a name and the first current-context win", () => {
    const a = parseKubeconfig(JSON.stringify({ clusters: [{ name: "c", cluster: { server: "https://a" } }], contexts: [{ name: "x", context: { cluster: "c" } }] }), "/a");
    const b = parseKubeconfig(
      JSON.stringify({
        clusters: [
          { name: "c", cluster: { server: "https://b" } },
          { name: "d", cluster: { server: "https://d" } },
        ],
        users: [{ name: "u", user: { token: "t" } }],
        "current-context": "x",
      }),
      "/b",
    );
    const c = parseKubeconfig(JSON.stringify({ "current-context": "y" }), "/c");
    const merged = mergeKubeconfigs([a, b, c]);
    expect(merged.files).toEqual(["/a", "/b", "/c"]);
    expect(merged.clusters.get("c")?.server).toBe("https://a");
    expect(merged.clusters.get("d")?.server).toBe("https://d");
    expect(merged.users.get("u")?.token).toBe("t");
    expect(merged.currentContext).toBe("x");
  });
});

describe("resolveClusterAccess", () => {
  it("a token becomes a Bearer header; the cluster's CA and TLS name are passed on", async () => {
    const a = access({ token: "abc" }, { server: "https://k8s.example:6443/prefix", "certificate-authority-data": b64("CA"), "tls-server-name": "kubernetes" });
    expect(a.server).toBe("https://k8s.example:6443/prefix");
    expect(a.ca?.toString()).toBe("CA");
    expect(a.tlsServerName).toBe("kubernetes");
    expect(a.insecureSkipTlsVerify).toBe(false);
    expect(a.warnings).toEqual([]);
    expect(a.source).toBe(`kubeconfig ${join(dir, "kubeconfig")} (context ctx)`);
    expect(await a.credentials()).toEqual({ authorization: "Bearer abc" });
  });

  it("refuses insecure-skip-tls-verify together with a CA, as kubectl does, and warns whenever verification is off (issue 15)", () => {
    const both = errorOf(() => access({ token: "abc" }, { server: "https://k", "certificate-authority-data": b64("CA"), "insecure-skip-tls-verify": true }));
    expect(both.message).toMatch(/specifying a root certificates file with the insecure flag is not allowed/);
    const insecure = access({ token: "abc" }, { server: "https://k", "insecure-skip-tls-verify": true });
    expect(insecure.insecureSkipTlsVerify).toBe(true);
    expect(insecure.warnings).toEqual([expect.stringMatching(/insecure-skip-tls-verify: the API server's certificate is not verified/)]);
  });

  it("sends as-uid and as-user-extra as client-go does, instead of dropping them (issue 15)", () => {
    const a = access({ token: "abc", as: "alice", "as-uid": "u-1", "as-groups": ["g"], "as-user-extra": { "scopes.example.com/x": ["a", "b"] } });
    expect(a.headers).toEqual({
      "Impersonate-User": "alice",
      "Impersonate-Group": ["g"],
      "Impersonate-Uid": "u-1",
      "Impersonate-Extra-scopes.example.com%2Fx": ["a", "b"],
    });
    expect(errorOf(() => access({ token: "abc", "as-uid": "u-1" })).message).toMatch(/as-uid and as-user-extra need `as`/);
  });

  it("a username and password become Basic auth", async () => {
    expect(await access({ username: "admin", password: "s3cret" }).credentials()).toEqual({ authorization: `Basic ${b64("admin:s3cret")}` });
  });

  it("client certificate and key, from data or from files (relative to the kubeconfig); CA from a file", async () => {
    const fromData = access({ "client-certificate-data": b64("CERT"), "client-key-data": b64("KEY") });
    expect([fromData.cert?.toString(), fromData.key?.toString()]).toEqual(["CERT", "KEY"]);
    expect(await fromData.credentials()).toEqual({});

    const sub = join(dir, "tls");
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, "client.crt"), "CERT FILE");
    writeFileSync(join(sub, "client.key"), "KEY FILE");
    writeFileSync(join(sub, "ca.crt"), "CA FILE");
    const kubeconfig = file("certs.yaml", config({ "client-certificate": "tls/client.crt", "client-key": "tls/client.key" }, { server: "https://k", "certificate-authority": "tls/ca.crt" }));
    // The files are next to the test directory's kubeconfig: move the relative base there.
    const fromFiles = resolveClusterAccess(parseKubeconfig(readFileSync(kubeconfig, "utf8"), join(dir, "kubeconfig")));
    expect([fromFiles.cert?.toString(), fromFiles.key?.toString(), fromFiles.ca?.toString()]).toEqual(["CERT FILE", "KEY FILE", "CA FILE"]);

    expect(errorOf(() => access({ "client-certificate": "tls/missing.crt", "client-key": "tls/client.key" })).message).toMatch(
      /: cannot read the client-certificate .*tls\/missing\.crt: ENOENT/,
    );
    expect(errorOf(() => access({ "client-certificate-data": b64("CERT") })).message).toMatch(/user "u" has a client certificate without a key$/);
  });

  it("a tokenFile is read again at every call (rotating tokens)", async () => {
    const tokenFile = file("token", "first\n");
    const a = access({ tokenFile });
    expect(await a.credentials()).toEqual({ authorization: "Bearer first" });
    writeFileSync(tokenFile, "second");
    expect(await a.credentials()).toEqual({ authorization: "Bearer second" });
  });

  it("impersonation becomes headers", () => {
    expect(access({ token: "t", as: "jane", "as-groups": ["devs", "ops"] }).headers).toEqual({ "Impersonate-User": "jane", "Impersonate-Group": ["devs", "ops"] });
  });

  it("refuses the legacy auth-provider, naming the kubeconfig and suggesting an exec plugin", () => {
    const error = errorOf(() => access({ "auth-provider": { name: "gcp", config: {} } }));
    expect(error).toBeInstanceOf(KubeconfigError);
    expect(error.message).toContain(`kubeconfig ${join(dir, "kubeconfig")}: user "u" authenticates with the auth-provider "gcp", which Landlord does not support`);
    expect(error.message).toContain("use an exec credential plugin");
  });

  it("says plainly what is missing or inconsistent", () => {
    const where = `kubeconfig ${join(dir, "kubeconfig")}`;
    const resolve = (document: object) => resolveClusterAccess(parseKubeconfig(JSON.stringify(document), join(dir, "kubeconfig")));
    expect(errorOf(() => resolve({ ...config({}), "current-context": undefined })).message).toBe(`${where}: no current-context is set; choose one with kubectl config use-context <name>`);
    expect(errorOf(() => resolve({ ...config({}), "current-context": "nope" })).message).toBe(`${where}: current-context "nope" is not among its contexts ("ctx")`);
    expect(errorOf(() => resolve({ ...config({}), clusters: [] })).message).toBe(`${where}: context "ctx" names the cluster "c", which is not among its clusters (none)`);
    expect(errorOf(() => resolve({ ...config({}), users: [] })).message).toBe(`${where}: context "ctx" names the user "u", which is not among its users (none)`);
    expect(errorOf(() => access({}, {})).message).toBe(`${where}: cluster "c": no server is set`);
    expect(errorOf(() => access({}, { server: "http://k:8080" })).message).toBe(`${where}: cluster "c": the server http://k:8080 is not https; Landlord only talks to API servers over TLS`);
    expect(errorOf(() => access({}, { server: "https://k", "proxy-url": "http://proxy:3128" })).message).toMatch(/sets proxy-url, which Landlord does not support/);
    expect(errorOf(() => access({ token: "t", username: "u", password: "p" })).message).toBe(`${where}: user "u" has both a token and a username/password; only one is allowed`);
  });

  it("a context without a user is anonymous", async () => {
    const document = { ...config({}), contexts: [{ name: "ctx", context: { cluster: "c" } }] };
    expect(await resolveClusterAccess(parseKubeconfig(JSON.stringify(document), "/k")).credentials()).toEqual({});
  });
});

describe("exec credential plugins", () => {
  /**
   * A plugin: counts its runs in a file, prints an ExecCredential built from its environment and
   * arguments, and records what it was given (KUBERNETES_EXEC_INFO, env, args).
   */
  const plugin = file(
    "plugin.mjs",
    `import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
const [log, mode, ...rest] = process.argv.slice(2);
appendFileSync(log, JSON.stringify({ args: rest, info: JSON.parse(process.env.KUBERNETES_EXEC_INFO), region: process.env.AWS_REGION }) + "\\n");
const runs = readFileSync(log, "utf8").trim().split("\\n").length;
if (mode === "fail") { process.stderr.write("no credentials configured"); process.exit(3); }
if (mode === "garbage") { process.stdout.write("Bearer plain-secret-9f8e7d"); process.exit(0); }
const apiVersion = process.env.ANSWER_VERSION ?? JSON.parse(process.env.KUBERNETES_EXEC_INFO).apiVersion;
const status = mode === "cert"
  ? { clientCertificateData: "-----BEGIN CERTIFICATE-----", clientKeyData: "-----BEGIN PRIVATE KEY-----" }
  : { token: "token-" + runs, ...(process.env.EXPIRES ? { expirationTimestamp: process.env.EXPIRES } : {}) };
process.stdout.write(JSON.stringify({ apiVersion, kind: "ExecCredential", status }));
`,
  );
  const runs = (log: string): Array<{ args: string[]; info: { apiVersion: string; spec: Record<string, unknown> }; region?: string }> => {
    try {
      return readFileSync(log, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    } catch {
      return [];
    }
  };
  const exec = (log: string, mode: string, extra: Record<string, unknown> = {}) => ({
    exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: process.execPath, args: [plugin, log, mode, "--cluster-name", "prod"], ...extra },
  });
  const clock = (start: number) => {
    let now = start;
    const io: AccessIo = { ...systemIo, now: () => now, env: { ...process.env } };
    return { io, advance: (ms: number) => (now += ms) };
  };

  it("runs the plugin with its args and env and KUBERNETES_EXEC_INFO, caching the token until expirationTimestamp", async () => {
    const log = join(dir, "exec-expiry.log");
    const start = Date.parse("2026-11-24T00:00:00Z");
    const { io, advance } = clock(start);
    io.env.EXPIRES = "2026-11-24T00:15:00Z";
    const a = access(exec(log, "token", { env: [{ name: "AWS_REGION", value: "eu-west-1" }] }), undefined, io);
    expect(await a.credentials()).toEqual({ authorization: "Bearer token-1" });
    expect(await a.credentials()).toEqual({ authorization: "Bearer token-1" });
    advance(15 * 60_000 - 1);
    expect(await a.credentials()).toEqual({ authorization: "Bearer token-1" });
    expect(runs(log)).toHaveLength(1);
    advance(1);
    expect(await a.credentials()).toEqual({ authorization: "Bearer token-2" });
    const [first] = runs(log);
    expect(first).toEqual({
      args: ["--cluster-name", "prod"],
      region: "eu-west-1",
      info: { apiVersion: "client.authentication.k8s.io/v1beta1", kind: "ExecCredential", spec: { interactive: false } },
    });
  });

  it("without an expirationTimestamp, keeps the token until invalidate() (a 401)", async () => {
    const log = join(dir, "exec-forever.log");
    const { io, advance } = clock(0);
    const a = access(exec(log, "token"), undefined, io);
    expect(await a.credentials()).toEqual({ authorization: "Bearer token-1" });
    advance(24 * 3_600_000);
    expect(await a.credentials()).toEqual({ authorization: "Bearer token-1" });
    a.invalidate();
    expect(await a.credentials()).toEqual({ authorization: "Bearer token-2" });
  });

  it("runs once for many callers at once", async () => {
    const log = join(dir, "exec-concurrent.log");
    const a = access(exec(log, "token"));
    const answers = await Promise.all(Array.from({ length: 10 }, () => a.credentials()));
    expect(new Set(answers.map((c) => c.authorization))).toEqual(new Set(["Bearer token-1"]));
    expect(runs(log)).toHaveLength(1);
  });

  it("passes a client certificate and key from the plugin's status, and the cluster when asked to", async () => {
    const log = join(dir, "exec-cert.log");
    const a = access(exec(log, "cert", { apiVersion: "client.authentication.k8s.io/v1", provideClusterInfo: true, interactiveMode: "IfAvailable" }), {
      server: "https://k8s.example",
      "certificate-authority-data": b64("CA"),
      extensions: [{ name: "client.authentication.k8s.io/exec", extension: { audience: "landlord" } }],
    });
    const credentials = await a.credentials();
    expect(credentials.authorization).toBeUndefined();
    expect([credentials.cert?.toString(), credentials.key?.toString()]).toEqual(["-----BEGIN CERTIFICATE-----", "-----BEGIN PRIVATE KEY-----"]);
    expect(runs(log)[0]?.info.spec).toEqual({
      interactive: false,
      cluster: { server: "https://k8s.example", "certificate-authority-data": b64("CA"), config: { audience: "landlord" } },
    });
  });

  it("a failing plugin's stderr and install hint make the error; so does an answer in the wrong version", async () => {
    const log = join(dir, "exec-fail.log");
    const failing = access(exec(log, "fail", { installHint: "Install the AWS CLI: https://aws.amazon.com/cli/" }));
    await expect(failing.credentials()).rejects.toThrow(/user "u": the exec plugin .* failed: exit code 3: no credentials configured\nInstall the AWS CLI/);

    const { io } = clock(0);
    io.env.ANSWER_VERSION = "client.authentication.k8s.io/v1alpha1";
    const wrong = access(exec(join(dir, "exec-version.log"), "token"), undefined, io);
    await expect(wrong.credentials()).rejects.toThrow(/answered client\.authentication\.k8s\.io\/v1alpha1\/ExecCredential, expected client\.authentication\.k8s\.io\/v1beta1\/ExecCredential/);

    const missing = access({ exec: { apiVersion: "client.authentication.k8s.io/v1", command: join(dir, "no-such-plugin") } });
    await expect(missing.credentials()).rejects.toThrow(/the exec plugin .*no-such-plugin failed: .*ENOENT/);
  });

  it("never echoes what the plugin printed into an error: it may be a credential (issue 15)", async () => {
    const garbage = access(exec(join(dir, "exec-garbage.log"), "garbage"));
    const error = await garbage.credentials().then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/printed no ExecCredential JSON \(\d+ characters, not shown\)/);
    expect(error?.message).not.toContain("plain-secret");
  });

  it("refuses unknown exec apiVersions and interactive-only plugins at load", () => {
    expect(errorOf(() => access({ exec: { apiVersion: "client.authentication.k8s.io/v1alpha1", command: "x" } })).message).toMatch(/exec apiVersion "client.authentication.k8s.io\/v1alpha1" is not supported/);
    expect(errorOf(() => access({ exec: { apiVersion: "client.authentication.k8s.io/v1", command: "x", interactiveMode: "Always" } })).message).toMatch(/needs an interactive terminal/);
  });
});

describe("in-cluster", () => {
  const serviceAccount = join(dir, "serviceaccount");
  mkdirSync(serviceAccount, { recursive: true });
  writeFileSync(join(serviceAccount, "ca.crt"), "CLUSTER CA");
  writeFileSync(join(serviceAccount, "token"), "sa-token-1\n");
  const io = (env: Record<string, string | undefined>): AccessIo => ({ ...systemIo, env });

  it("uses KUBERNETES_SERVICE_HOST/PORT, the CA, and the token file, re-read at every call", async () => {
    const a = inClusterAccess(io({ KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" }), serviceAccount);
    expect(a.server).toBe("https://10.96.0.1:443");
    expect(a.ca?.toString()).toBe("CLUSTER CA");
    expect(a.source).toBe("in-cluster");
    expect(await a.credentials()).toEqual({ authorization: "Bearer sa-token-1" });
    writeFileSync(join(serviceAccount, "token"), "sa-token-2\n");
    expect(await a.credentials()).toEqual({ authorization: "Bearer sa-token-2" });
  });

  it("brackets an IPv6 service address", () => {
    expect(inClusterAccess(io({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" }), serviceAccount).server).toBe("https://[fd00::1]:443");
  });

  it("says when the ServiceAccount token is not mounted", () => {
    expect(errorOf(() => inClusterAccess(io({ KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" }), join(dir, "nothing"))).message).toMatch(
      /^in-cluster: cannot read the ServiceAccount's credentials in .*nothing \(is automountServiceAccountToken off\?\)/,
    );
  });
});

describe("loadClusterAccess: where the kubeconfig comes from", () => {
  const io = (env: Record<string, string | undefined>): AccessIo => ({ ...systemIo, env });
  const one = (server: string, extra: Record<string, unknown> = {}) => ({ ...config({ token: "t" }, { server }), ...extra });
  const home = join(dir, "home");
  mkdirSync(join(home, ".kube"), { recursive: true });
  writeFileSync(join(home, ".kube", "config"), JSON.stringify(one("https://home")));
  const emptyHome = join(dir, "empty-home");
  mkdirSync(emptyHome, { recursive: true });
  const serviceAccountDir = join(dir, "serviceaccount");

  it("an explicit path wins over KUBECONFIG and ~/.kube/config, and must exist", () => {
    const explicit = file("explicit", one("https://explicit"));
    const fromKubeconfig = file("env", one("https://env"));
    expect(loadClusterAccess(explicit, { io: io({ KUBECONFIG: fromKubeconfig }), home }).server).toBe("https://explicit");
    expect(errorOf(() => loadClusterAccess(join(dir, "missing"), { io: io({}), home })).message).toBe(`kubeconfig ${join(dir, "missing")} does not exist`);
  });

  it("KUBECONFIG: files that do not exist are skipped, the rest merged (the first current-context wins)", () => {
    const first = file("first", { clusters: [{ name: "c", cluster: { server: "https://first" } }] });
    const second = file("second", one("https://second"));
    const a = loadClusterAccess(undefined, { io: io({ KUBECONFIG: [join(dir, "absent"), first, "", second].join(":") }), home });
    // The context and user come from the second file, the cluster "c" from the first.
    expect(a.server).toBe("https://first");
    expect(a.source).toBe(`kubeconfig ${first}:${second} (context ctx)`);
    expect(errorOf(() => loadClusterAccess(undefined, { io: io({ KUBECONFIG: `${join(dir, "a")}:${join(dir, "b")}` }), home })).message).toBe(
      `none of the files in KUBECONFIG exist (${join(dir, "a")}, ${join(dir, "b")})`,
    );
  });

  it("in operator mode, a pod's own ServiceAccount comes before ~/.kube/config (issue 15)", () => {
    const inPod = io({ KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" });
    expect(loadClusterAccess(undefined, { io: inPod, home, serviceAccountDir, preferInCluster: true }).source).toBe("in-cluster");
    // KUBECONFIG, set on purpose, still wins.
    const fromKubeconfig = file("env-op", one("https://env"));
    expect(loadClusterAccess(undefined, { io: io({ ...inPod.env, KUBECONFIG: fromKubeconfig }), home, serviceAccountDir, preferInCluster: true }).server).toBe("https://env");
  });

  it("then ~/.kube/config, then in-cluster, else one clear error", () => {
    expect(loadClusterAccess(undefined, { io: io({ KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" }), home, serviceAccountDir }).server).toBe("https://home");
    expect(loadClusterAccess(undefined, { io: io({ KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" }), home: emptyHome, serviceAccountDir }).server).toBe("https://10.0.0.1:443");
    expect(errorOf(() => loadClusterAccess(undefined, { io: io({}), home: emptyHome })).message).toBe(
      `no kubeconfig found: KUBECONFIG is unset, ${join(emptyHome, ".kube", "config")} does not exist, and KUBERNETES_SERVICE_HOST is unset (not in a pod)`,
    );
  });
});
