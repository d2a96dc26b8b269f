import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve, sep } from "node:path";
import { isIPv6 } from "node:net";
import type { RateLimit } from "./rateLimit.ts";

/**
 * The YAML parser, loaded when a kubeconfig file is read: in a pod (in-cluster credentials) there
 * is none, and the operator never needs it otherwise (~6 MiB).
 */
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)("yaml") as typeof import("yaml")).parse(text);

/**
 * Where the API server is and how to authenticate to it: what the operator and the CLI need from a
 * kubeconfig or from a pod's ServiceAccount, without client-node's KubeConfig (whose import alone
 * pulls in every generated API model, ~75 MiB).
 */
export interface ClusterAccess {
  /** The API server's URL (https only), possibly with a path prefix (a proxy such as Rancher's). */
  server: string;
  ca?: Buffer;
  /** The client certificate and key from the kubeconfig (an exec plugin's come with credentials()). */
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTlsVerify: boolean;
  /** The name to verify the server's certificate against, and to send as SNI, when not the URL's host. */
  tlsServerName?: string;
  /** Sent with every request: impersonation (`as`, `as-groups`). */
  headers: Record<string, string | string[]>;
  /** Where this came from, for messages: `kubeconfig <file> (context <name>)` or `in-cluster`. */
  source: string;
  /** The current context's namespace, when it names one (kubectl's default for namespaced commands). */
  namespace?: string;
  /**
   * Client-side request limits for every client made from this (each gets a bucket of its own,
   * as each client-go clientset made from one rest.Config does). Never from the kubeconfig: the
   * operator sets it from --kube-api-qps and --kube-api-burst.
   */
  rateLimit?: RateLimit;
  /** What the caller must log once: e.g. that the API server's certificate is not verified. */
  warnings: string[];
  /** The Authorization header, and an exec plugin's client certificate, as of now. */
  credentials(): Promise<Credentials>;
  /** Forgets cached credentials (the API server answered 401): the next credentials() fetches new ones. */
  invalidate(): void;
}

export interface Credentials {
  authorization?: string;
  cert?: Buffer;
  key?: Buffer;
}

/** A kubeconfig that cannot be used, with a message naming the file and what to do. */
export class KubeconfigError extends Error {
  override name = "KubeconfigError";
}

// ---- the file format ------------------------------------------------------------------------------

export interface ExecConfig {
  command: string;
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  apiVersion: string;
  installHint?: string;
  provideClusterInfo?: boolean;
  interactiveMode?: string;
}

export interface KubeconfigCluster {
  server?: string;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
  "proxy-url"?: string;
  extensions?: Array<{ name: string; extension: unknown }>;
}

export interface KubeconfigUser {
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  "auth-provider"?: { name?: string };
  as?: string;
  "as-uid"?: string;
  "as-groups"?: string[];
  "as-user-extra"?: Record<string, string[]>;
}

export interface KubeconfigContext {
  cluster?: string;
  user?: string;
  namespace?: string;
}

/** A kubeconfig (or several merged), every relative path already made absolute against its own file. */
export interface Kubeconfig {
  /** The files it came from, for messages. */
  files: string[];
  clusters: Map<string, KubeconfigCluster>;
  users: Map<string, KubeconfigUser>;
  contexts: Map<string, KubeconfigContext>;
  currentContext?: string;
}

const EXEC_API_VERSIONS = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];
const EXEC_TIMEOUT_MS = 60_000;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** The named entries of a kubeconfig list (clusters, users, contexts): later duplicates lose, as in kubectl. */
function namedEntries<T>(file: string, list: unknown, field: string): Map<string, T> {
  const entries = new Map<string, T>();
  if (list === undefined || list === null) return entries;
  if (!Array.isArray(list)) throw new KubeconfigError(`kubeconfig ${file}: ${field}s must be a list`);
  for (const entry of list) {
    if (!isRecord(entry) || typeof entry.name !== "string") throw new KubeconfigError(`kubeconfig ${file}: every entry of ${field}s needs a name`);
    const value = entry[field] ?? {};
    if (!isRecord(value)) throw new KubeconfigError(`kubeconfig ${file}: ${field}s[${entry.name}].${field} must be a mapping`);
    if (!entries.has(entry.name)) entries.set(entry.name, value as T);
  }
  return entries;
}

/**
 * Parses one kubeconfig file's text (YAML or JSON). Relative file references (certificate-authority,
 * client-certificate, client-key, tokenFile, and an exec command given as a relative path) are
 * resolved against the file's directory, as kubectl does. No file is read here.
 */
export function parseKubeconfig(text: string, file: string): Kubeconfig {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new KubeconfigError(`kubeconfig ${file} is not valid YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (document === null || document === undefined) document = {};
  if (!isRecord(document)) throw new KubeconfigError(`kubeconfig ${file} is not a kubeconfig (expected a mapping with clusters, users and contexts)`);
  const base = dirname(resolve(file));
  const absolute = (path: unknown): string | undefined => (typeof path === "string" && path !== "" ? (isAbsolute(path) ? path : join(base, path)) : undefined);

  const clusters = namedEntries<KubeconfigCluster>(file, document.clusters, "cluster");
  for (const cluster of clusters.values()) {
    const ca = absolute(cluster["certificate-authority"]);
    if (ca) cluster["certificate-authority"] = ca;
  }
  const users = namedEntries<KubeconfigUser>(file, document.users, "user");
  for (const user of users.values()) {
    for (const field of ["client-certificate", "client-key", "tokenFile"] as const) {
      const path = absolute(user[field]);
      if (path) user[field] = path;
    }
    // A command with a path separator is relative to the kubeconfig; a bare name is looked up on PATH.
    if (isRecord(user.exec) && typeof user.exec.command === "string" && user.exec.command.includes(sep)) user.exec.command = absolute(user.exec.command) as string;
  }
  const contexts = namedEntries<KubeconfigContext>(file, document.contexts, "context");
  const current = document["current-context"];
  return { files: [file], clusters, users, contexts, ...(typeof current === "string" && current !== "" ? { currentContext: current } : {}) };
}

/**
 * Merges kubeconfigs the way kubectl merges the files in KUBECONFIG: the first file to define a
 * cluster, user or context by a name wins, and so does the first current-context.
 */
export function mergeKubeconfigs(configs: Kubeconfig[]): Kubeconfig {
  const merged: Kubeconfig = { files: [], clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const config of configs) {
    merged.files.push(...config.files);
    for (const field of ["clusters", "users", "contexts"] as const) {
      const into = merged[field] as Map<string, unknown>;
      for (const [name, value] of config[field]) if (!into.has(name)) into.set(name, value);
    }
    merged.currentContext ??= config.currentContext;
  }
  return merged;
}

// ---- resolving a kubeconfig into ClusterAccess ---------------------------------------------------

export interface AccessIo {
  /** Reads a file named in the kubeconfig (CA, client certificate or key) once, at load. */
  readFile(path: string): Buffer;
  /** Reads a token file: at every credentials() call, since tokens in files rotate. */
  readToken(path: string): Promise<string>;
  /** Whether a kubeconfig file exists (the files in KUBECONFIG that do not are skipped). */
  exists(path: string): boolean;
  /** Runs an exec credential plugin; resolves its standard output. */
  runExec(exec: ExecConfig, env: Record<string, string>): Promise<string>;
  now(): number;
  env: Record<string, string | undefined>;
}

export const systemIo: AccessIo = {
  readFile: (path) => readFileSync(path),
  readToken: async (path) => (await readFile(path, "utf8")).trim(),
  exists: existsSync,
  runExec,
  now: () => Date.now(),
  env: process.env,
};

function nameList(names: Iterable<string>): string {
  const all = [...names];
  return all.length ? all.map((n) => JSON.stringify(n)).join(", ") : "none";
}

/** The current context's cluster and user as ClusterAccess. Reads the CA, certificate and key files now. */
export function resolveClusterAccess(config: Kubeconfig, io: AccessIo = systemIo): ClusterAccess {
  const where = `kubeconfig ${config.files.join(delimiter)}`;
  const fail = (message: string): never => {
    throw new KubeconfigError(`${where}: ${message}`);
  };
  const contextName = config.currentContext ?? fail("no current-context is set; choose one with kubectl config use-context <name>");
  const context = config.contexts.get(contextName) ?? fail(`current-context ${JSON.stringify(contextName)} is not among its contexts (${nameList(config.contexts.keys())})`);
  if (!context.cluster) fail(`context ${JSON.stringify(contextName)} names no cluster`);
  const clusterName = context.cluster as string;
  const cluster = config.clusters.get(clusterName) ?? fail(`context ${JSON.stringify(contextName)} names the cluster ${JSON.stringify(clusterName)}, which is not among its clusters (${nameList(config.clusters.keys())})`);
  const user: KubeconfigUser = context.user ? (config.users.get(context.user) ?? fail(`context ${JSON.stringify(contextName)} names the user ${JSON.stringify(context.user)}, which is not among its users (${nameList(config.users.keys())})`)) : {};
  const userName = context.user ?? "";

  const server = checkServer(cluster.server, (message) => fail(`cluster ${JSON.stringify(clusterName)}: ${message}`));
  if (cluster["proxy-url"]) fail(`cluster ${JSON.stringify(clusterName)} sets proxy-url, which Landlord does not support; reach the API server directly`);
  if (user["auth-provider"]) {
    const provider = user["auth-provider"].name ?? "unnamed";
    fail(
      `user ${JSON.stringify(userName)} authenticates with the auth-provider ${JSON.stringify(provider)}, which Landlord does not support; use an exec credential plugin instead, e.g. gke-gcloud-auth-plugin, kubelogin or aws eks get-token`,
    );
  }
  const hasToken = Boolean(user.token || user.tokenFile);
  if (hasToken && (user.username || user.password)) fail(`user ${JSON.stringify(userName)} has both a token and a username/password; only one is allowed`);

  const read = (what: string, path: string | undefined, data: string | undefined): Buffer | undefined => {
    if (path) {
      try {
        return io.readFile(path);
      } catch (error) {
        return fail(`cannot read the ${what} ${path}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return data ? Buffer.from(data, "base64") : undefined;
  };
  const ca = read("certificate-authority", cluster["certificate-authority"], cluster["certificate-authority-data"]);
  const cert = read("client-certificate", user["client-certificate"], user["client-certificate-data"]);
  const key = read("client-key", user["client-key"], user["client-key-data"]);
  if (Boolean(cert) !== Boolean(key)) fail(`user ${JSON.stringify(userName)} has a client ${cert ? "certificate without a key" : "key without a certificate"}`);

  const insecure = cluster["insecure-skip-tls-verify"] === true;
  // As kubectl: a CA and "do not verify" together mean one of them is a mistake.
  if (insecure && ca) fail(`cluster ${JSON.stringify(clusterName)} sets both a certificate-authority and insecure-skip-tls-verify; specifying a root certificates file with the insecure flag is not allowed: remove one`);
  const headers = impersonationHeaders(user, (message) => fail(`user ${JSON.stringify(userName)}: ${message}`));

  let credentials: () => Promise<Credentials> = async () => ({});
  let invalidate = (): void => undefined;
  if (user.tokenFile) {
    // Re-read at every call (the client caches for a second): projected and rotated tokens change.
    const file = user.tokenFile;
    credentials = async () => ({ authorization: `Bearer ${await io.readToken(file)}` });
  } else if (user.token) {
    const header = `Bearer ${user.token}`;
    credentials = async () => ({ authorization: header });
  } else if (user.username || user.password) {
    const header = `Basic ${Buffer.from(`${user.username ?? ""}:${user.password ?? ""}`).toString("base64")}`;
    credentials = async () => ({ authorization: header });
  } else if (user.exec) {
    const exec = checkExec(user.exec, (message) => fail(`user ${JSON.stringify(userName)}: ${message}`));
    const plugin = execCredentials(exec, { server, cluster, ca }, io, `${where}: user ${JSON.stringify(userName)}`);
    credentials = plugin.credentials;
    invalidate = plugin.invalidate;
  }

  return {
    server,
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    insecureSkipTlsVerify: insecure,
    ...(cluster["tls-server-name"] ? { tlsServerName: cluster["tls-server-name"] } : {}),
    ...(context.namespace ? { namespace: context.namespace } : {}),
    headers,
    source: `${where} (context ${contextName})`,
    warnings: insecure
      ? [`${where}: cluster ${JSON.stringify(clusterName)} sets insecure-skip-tls-verify: the API server's certificate is not verified, so anyone on the network path can pose as it and read every credential sent`]
      : [],
    credentials,
    invalidate,
  };
}

/**
 * The Impersonate-* headers of `as`, `as-uid`, `as-groups` and `as-user-extra`, as client-go sends
 * them (extra keys percent-encoded). Dropping any of them would act as a different identity than
 * the kubeconfig names, so each is sent or the kubeconfig refused.
 */
function impersonationHeaders(user: KubeconfigUser, fail: (message: string) => never): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  if (user.as) headers["Impersonate-User"] = user.as;
  if (user["as-groups"]?.length) headers["Impersonate-Group"] = user["as-groups"];
  const uid = user["as-uid"];
  const extra = user["as-user-extra"] ?? {};
  if ((uid || Object.keys(extra).length > 0) && !user.as) fail("as-uid and as-user-extra need `as` (the user to impersonate)");
  if (uid) headers["Impersonate-Uid"] = uid;
  if (!isRecord(extra)) fail("as-user-extra must be a mapping of names to lists of values");
  for (const [name, values] of Object.entries(extra)) {
    if (!Array.isArray(values) || values.some((v) => typeof v !== "string")) fail(`as-user-extra ${JSON.stringify(name)} must be a list of strings`);
    headers[`Impersonate-Extra-${encodeURIComponent(name)}`] = values;
  }
  return headers;
}

function checkServer(server: string | undefined, fail: (message: string) => never): string {
  if (!server) return fail("no server is set");
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return fail(`the server ${JSON.stringify(server)} is not a URL`);
  }
  if (url.protocol !== "https:") return fail(`the server ${server} is not https; Landlord only talks to API servers over TLS`);
  return server;
}

function checkExec(exec: ExecConfig, fail: (message: string) => never): ExecConfig {
  if (!exec.command) fail("exec has no command");
  if (!EXEC_API_VERSIONS.includes(exec.apiVersion)) {
    fail(`exec apiVersion ${JSON.stringify(exec.apiVersion ?? "")} is not supported; expected one of ${EXEC_API_VERSIONS.join(", ")}`);
  }
  // Nobody is at a terminal to answer a prompt: an operator runs unattended.
  if (exec.interactiveMode === "Always") fail("the exec plugin needs an interactive terminal (interactiveMode: Always), which Landlord never has");
  return exec;
}

interface ExecCredential {
  apiVersion?: string;
  kind?: string;
  status?: { token?: string; clientCertificateData?: string; clientKeyData?: string; expirationTimestamp?: string };
}

/**
 * An exec plugin's credentials, cached until its expirationTimestamp (or, without one, until a 401
 * invalidates them), with one run at a time however many requests ask at once.
 */
function execCredentials(
  exec: ExecConfig,
  target: { server: string; cluster: KubeconfigCluster; ca: Buffer | undefined },
  io: AccessIo,
  who: string,
): { credentials(): Promise<Credentials>; invalidate(): void } {
  let cached: { credentials: Credentials; expiresAt: number } | undefined;
  let running: Promise<Credentials> | undefined;
  // What client-go passes: the plugin (aws eks get-token, kubelogin) answers in the apiVersion asked for.
  const execInfo = JSON.stringify({
    apiVersion: exec.apiVersion,
    kind: "ExecCredential",
    spec: {
      interactive: false,
      ...(exec.provideClusterInfo
        ? {
            cluster: {
              server: target.server,
              ...(target.cluster["tls-server-name"] ? { "tls-server-name": target.cluster["tls-server-name"] } : {}),
              ...(target.cluster["insecure-skip-tls-verify"] ? { "insecure-skip-tls-verify": true } : {}),
              ...(target.ca ? { "certificate-authority-data": target.ca.toString("base64") } : {}),
              ...(() => {
                const config = target.cluster.extensions?.find((e) => e.name === "client.authentication.k8s.io/exec")?.extension;
                return config === undefined ? {} : { config };
              })(),
            },
          }
        : {}),
    },
  });

  async function run(): Promise<Credentials> {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(io.env)) if (value !== undefined) env[name] = value;
    for (const entry of exec.env ?? []) env[entry.name] = entry.value;
    env.KUBERNETES_EXEC_INFO = execInfo;
    let output: string;
    try {
      output = await io.runExec(exec, env);
    } catch (error) {
      const hint = exec.installHint ? `\n${exec.installHint}` : "";
      throw new KubeconfigError(`${who}: the exec plugin ${exec.command} failed: ${error instanceof Error ? error.message : String(error)}${hint}`);
    }
    let credential: ExecCredential;
    try {
      credential = JSON.parse(output) as ExecCredential;
    } catch {
      // Its output is not shown: whatever it printed may be a credential.
      throw new KubeconfigError(`${who}: the exec plugin ${exec.command} printed no ExecCredential JSON (${output.length} characters, not shown)`);
    }
    if (credential.kind !== "ExecCredential" || credential.apiVersion !== exec.apiVersion) {
      throw new KubeconfigError(`${who}: the exec plugin ${exec.command} answered ${credential.apiVersion ?? "?"}/${credential.kind ?? "?"}, expected ${exec.apiVersion}/ExecCredential`);
    }
    const status = credential.status ?? {};
    const certificate = status.clientCertificateData ? Buffer.from(status.clientCertificateData) : undefined;
    const key = status.clientKeyData ? Buffer.from(status.clientKeyData) : undefined;
    if (!status.token && !(certificate && key)) {
      throw new KubeconfigError(`${who}: the exec plugin ${exec.command} returned neither a token nor a client certificate and key`);
    }
    const credentials: Credentials = {
      ...(status.token ? { authorization: `Bearer ${status.token}` } : {}),
      ...(certificate && key ? { cert: certificate, key } : {}),
    };
    const expiresAt = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : Number.POSITIVE_INFINITY;
    if (Number.isNaN(expiresAt)) throw new KubeconfigError(`${who}: the exec plugin ${exec.command} returned an invalid expirationTimestamp ${JSON.stringify(status.expirationTimestamp)}`);
    cached = { credentials, expiresAt };
    return credentials;
  }

  return {
    credentials() {
      if (cached && io.now() < cached.expiresAt) return Promise.resolve(cached.credentials);
      running ??= run().finally(() => (running = undefined));
      return running;
    },
    invalidate() {
      cached = undefined;
    },
  };
}

/** Runs an exec plugin with no stdin; its stderr becomes the error message when it fails. */
function runExec(exec: ExecConfig, env: Record<string, string>): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(exec.command, exec.args ?? [], { env, stdio: ["ignore", "pipe", "pipe"], timeout: EXEC_TIMEOUT_MS });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) {
        resolveRun(Buffer.concat(out).toString("utf8"));
        return;
      }
      const stderr = Buffer.concat(err).toString("utf8").trim();
      reject(new Error(`${signal ? `killed by ${signal}` : `exit code ${code}`}${stderr ? `: ${stderr}` : ""}`));
    });
  });
}

// ---- in-cluster --------------------------------------------------------------------------------

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The pod's ServiceAccount: the token file is re-read at each credentials() call (projected tokens rotate). */
export function inClusterAccess(io: AccessIo = systemIo, dir: string = SERVICE_ACCOUNT_DIR): ClusterAccess {
  const host = io.env.KUBERNETES_SERVICE_HOST;
  const port = io.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new KubeconfigError("not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset");
  const tokenFile = join(dir, "token");
  let ca: Buffer;
  try {
    ca = io.readFile(join(dir, "ca.crt"));
    io.readFile(tokenFile);
  } catch (error) {
    throw new KubeconfigError(
      `in-cluster: cannot read the ServiceAccount's credentials in ${dir} (is automountServiceAccountToken off?): ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return {
    server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    ca,
    insecureSkipTlsVerify: false,
    headers: {},
    source: "in-cluster",
    warnings: [],
    credentials: async () => ({ authorization: `Bearer ${await io.readToken(tokenFile)}` }),
    invalidate: () => undefined,
  };
}

// ---- choosing the source -------------------------------------------------------------------------

export interface LoadOptions {
  io?: AccessIo;
  /** The home directory whose .kube/config is the default (os.homedir()). */
  home?: string;
  serviceAccountDir?: string;
  /**
   * The operator: in a pod, its own ServiceAccount before ~/.kube/config (a file that happens to
   * be in HOME must not silently change who the operator acts as). KUBECONFIG and --kubeconfig,
   * which someone set on purpose, still come first.
   */
  preferInCluster?: boolean;
}

function loadFile(file: string, io: AccessIo): Kubeconfig {
  let text: string;
  try {
    text = io.readFile(file).toString("utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new KubeconfigError(code === "ENOENT" ? `kubeconfig ${file} does not exist` : `cannot read the kubeconfig ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseKubeconfig(text, file);
}

/**
 * The cluster to talk to, from the first of these that is set, as kubectl and client-node look:
 *
 * 1. `path` (the --kubeconfig flag): exactly that one file;
 * 2. KUBECONFIG: a list of files separated by `:` (`;` on Windows); files that do not exist are
 *    skipped, the others merged as kubectl merges them (see mergeKubeconfigs);
 * 3. ~/.kube/config, when it exists;
 * 4. in-cluster: the pod's ServiceAccount token and CA, when KUBERNETES_SERVICE_HOST is set (with
 *    `preferInCluster`, the operator's choice, before 3).
 *
 * Anything else is a KubeconfigError saying what was looked at.
 */
export function loadClusterAccess(path?: string, options: LoadOptions = {}): ClusterAccess {
  const io = options.io ?? systemIo;
  if (path) return resolveClusterAccess(loadFile(path, io), io);
  const list = io.env.KUBECONFIG;
  if (list) {
    const files = list.split(delimiter).filter((file) => file !== "");
    const existing = files.filter((file) => io.exists(file));
    if (existing.length === 0) throw new KubeconfigError(`none of the files in KUBECONFIG exist (${files.join(", ")})`);
    return resolveClusterAccess(mergeKubeconfigs(existing.map((file) => loadFile(file, io))), io);
  }
  if (options.preferInCluster && io.env.KUBERNETES_SERVICE_HOST) return inClusterAccess(io, options.serviceAccountDir);
  const home = options.home ?? io.env.HOME ?? homedir();
  const defaultFile = home ? join(home, ".kube", "config") : undefined;
  if (defaultFile && io.exists(defaultFile)) return resolveClusterAccess(loadFile(defaultFile, io), io);
  if (io.env.KUBERNETES_SERVICE_HOST) return inClusterAccess(io, options.serviceAccountDir);
  throw new KubeconfigError(`no kubeconfig found: KUBECONFIG is unset, ${defaultFile ?? "~/.kube/config"} does not exist, and KUBERNETES_SERVICE_HOST is unset (not in a pod)`);
}
