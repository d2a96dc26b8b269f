import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { ensureBinaries, type Binaries, type Log } from "./build.ts";
import { ensurePki, type Pki } from "./pki.ts";
import { freePort } from "./ports.ts";
import { isAlive, startDetached, stopProcess, waitFor } from "./processes.ts";
import { startNode, stopNode, type NodeState } from "./node.ts";
import { NODE_NAME } from "./nodeConfig.ts";
import { preflight } from "./nodeHost.ts";

/** What `landlord local up` leaves behind in its directory so `env`, `down` and a second `up` find it. */
export interface LocalState {
  dir: string;
  binDir: string;
  kubeconfig: string;
  server: string;
  ports: { etcdClient: number; etcdPeer: number; apiserver: number };
  pids: { etcd: number; apiserver: number; controllerManager: number };
  kubernetesVersion: string | undefined;
  startedAt: string;
  /** Set when a node (containerd, kubelet, kube-scheduler) runs too: `local up --node`. */
  node?: NodeState;
}

export interface LocalOptions {
  dir: string;
  env?: NodeJS.ProcessEnv;
  log?: Log;
  /** How long to wait for /readyz; the first start after a build also loads CRD machinery. */
  readyTimeoutMs?: number;
  /** Also start a node, so pods run (containerd, kubelet, kube-scheduler; Linux and root only). */
  node?: boolean;
}

const stateFile = (dir: string): string => join(dir, "state.json");

export function readState(dir: string): LocalState | undefined {
  const file = stateFile(dir);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LocalState;
  } catch {
    return undefined;
  }
}

function allAlive(state: LocalState): boolean {
  return [...Object.values(state.pids), ...Object.values(state.node?.pids ?? {})].every((pid) => isAlive(pid));
}

/** The state of a control plane that is running and ready, or undefined. */
export async function runningState(dir: string): Promise<LocalState | undefined> {
  const state = readState(dir);
  return state && allAlive(state) && (await apiserverReady(state, 5_000)) ? state : undefined;
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager on free loopback ports and returns once
 * the API server is ready and the controller manager has done its first work. Idempotent: when a
 * healthy control plane already runs from `dir`, it is returned as it is.
 */
export async function localUp(options: LocalOptions): Promise<LocalState> {
  const { dir } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const healthy = await runningState(dir);
  if (healthy && (healthy.node || !options.node)) {
    log(`landlord: the local control plane is already running (${healthy.server}${healthy.node ? ", with a node" : ""})`);
    return healthy;
  }
  if (healthy) return addNode(healthy, options, log);
  if (readState(dir)) {
    log("landlord: found a stopped or broken local control plane; replacing it");
    await localDown({ dir, log: () => undefined });
  }

  // A machine that cannot host a node says so before anything is built or started.
  if (options.node) preflight();
  const binaries = await ensureBinaries({ env: options.env ?? process.env, log });
  mkdirSync(join(dir, "pki"), { recursive: true });
  const pki = ensurePki(join(dir, "pki"));
  const ports = { etcdClient: await freePort(), etcdPeer: await freePort(), apiserver: await freePort() };
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, kubeconfigYaml({ server, pki, user: "landlord-admin", cert: pki.adminCert, key: pki.adminKey }), { mode: 0o600 });

  const state: LocalState = {
    dir,
    binDir: binaries.dir,
    kubeconfig,
    server,
    ports,
    pids: { etcd: 0, apiserver: 0, controllerManager: 0 },
    kubernetesVersion: binaries.versions?.kubernetes,
    startedAt: new Date().toISOString(),
  };
  const saveState = (): void => writeFileSync(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`);
  const timeout = options.readyTimeoutMs ?? 120_000;

  try {
    state.pids.etcd = startEtcd(binaries, dir, ports);
    saveState();
    await waitFor("etcd", () => etcdHealthy(ports.etcdClient), state.pids.etcd, join(dir, "etcd.log"), timeout);

    state.pids.apiserver = startApiserver(binaries, dir, pki, ports);
    saveState();
    await waitFor("kube-apiserver", () => apiserverReady(state, 2_000), state.pids.apiserver, join(dir, "kube-apiserver.log"), timeout);

    state.pids.controllerManager = startControllerManager(binaries, dir, pki, server, options.node === true);
    saveState();
    // The default ServiceAccount appears once the controller manager's serviceaccount controller runs:
    // proof that namespaces, tokens and garbage collection will behave as in a real cluster.
    await waitFor(
      "kube-controller-manager",
      async () => kubectlSucceeds(binaries, kubeconfig, ["get", "serviceaccount", "default", "-n", "default"]),
      state.pids.controllerManager,
      join(dir, "kube-controller-manager.log"),
      timeout,
    );
    if (options.node) {
      state.node = await startNode(nodeContext(state, pki, options, log, (node) => ((state.node = node), saveState())));
      saveState();
    }
  } catch (error) {
    await localDown({ dir, log: () => undefined, keepLogs: true });
    throw error;
  }
  log(`landlord: local control plane ready at ${server} (Kubernetes ${state.kubernetesVersion ?? "from LANDLORD_BIN_DIR"})`);
  return state;
}

function writeControllerManagerKubeconfig(dir: string, server: string, pki: Pki): string {
  const file = join(dir, "controller-manager.kubeconfig");
  writeFileSync(file, kubeconfigYaml({ server, pki, user: "kube-controller-manager", cert: pki.controllerManagerCert, key: pki.controllerManagerKey }), { mode: 0o600 });
  return file;
}

function nodeContext(state: LocalState, pki: Pki, options: LocalOptions, log: Log, save: (node: NodeState) => void): Parameters<typeof startNode>[0] {
  const kubectlPath = join(state.binDir, "kubectl");
  return {
    dir: state.dir,
    pki,
    apiserverPort: state.ports.apiserver,
    writeKubeconfig: (file, user, cert, key) => writeFileSync(file, kubeconfigYaml({ server: state.server, pki, user, cert, key }), { mode: 0o600 }),
    kubectl: async (args) => execFileSync(kubectlPath, ["--kubeconfig", state.kubeconfig, ...args], { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "ignore"] }),
    env: options.env ?? process.env,
    log,
    timeoutMs: options.readyTimeoutMs ?? 120_000,
    save,
  };
}

/**
 * Gives a running control plane a node: the controller manager restarts with the controllers that
 * pods need (its other work is level-triggered and resumes), then containerd, scheduler, kubelet.
 */
async function addNode(state: LocalState, options: LocalOptions, log: Log): Promise<LocalState> {
  const saveState = (): void => writeFileSync(stateFile(state.dir), `${JSON.stringify(state, null, 2)}\n`);
  preflight();
  const binaries = await ensureBinaries({ env: options.env ?? process.env, log });
  const pki = ensurePki(join(state.dir, "pki"));
  try {
    await stopProcess(state.pids.controllerManager);
    state.pids.controllerManager = startControllerManager(binaries, state.dir, pki, state.server, true);
    saveState();
    state.node = await startNode(nodeContext(state, pki, options, log, (node) => ((state.node = node), saveState())));
    saveState();
  } catch (error) {
    if (state.node) await stopNode(state.dir, state.node);
    delete state.node;
    saveState();
    throw error;
  }
  return state;
}

/**
 * Takes the node away from a running control plane again (addNode's reverse), for a test that
 * needs real pods for a while on a control plane shared with tests that expect none: the node is
 * stopped and cleaned up, the controller manager restarts with the controllers of a bare control
 * plane, and the Node object goes with the pods bound to it, which no kubelet would ever confirm
 * deleted (they would hold their namespaces in Terminating forever).
 */
export async function removeNode(options: { dir: string; env?: NodeJS.ProcessEnv; log?: Log }): Promise<void> {
  const state = await runningState(options.dir);
  if (!state?.node) return;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const saveState = (): void => writeFileSync(stateFile(state.dir), `${JSON.stringify(state, null, 2)}\n`);
  const binaries = await ensureBinaries({ env: options.env ?? process.env, log });
  const pki = ensurePki(join(state.dir, "pki"));
  try {
    await stopNode(state.dir, state.node);
  } finally {
    delete state.node;
    saveState();
  }
  await stopProcess(state.pids.controllerManager);
  state.pids.controllerManager = startControllerManager(binaries, state.dir, pki, state.server, false);
  saveState();
  const kubectlArgs = ["--kubeconfig", state.kubeconfig];
  const kubectlPath = join(state.binDir, "kubectl");
  execFileSync(kubectlPath, [...kubectlArgs, "delete", "pods", "--all-namespaces", "--field-selector", `spec.nodeName=${NODE_NAME}`, "--force", "--grace-period=0", "--ignore-not-found"], { stdio: "ignore", timeout: 60_000 });
  execFileSync(kubectlPath, [...kubectlArgs, "delete", "node", NODE_NAME, "--ignore-not-found"], { stdio: "ignore", timeout: 60_000 });
  log("landlord: the node is gone; the control plane runs on without one");
}

/** Stops whatever `localUp` started from `dir` and removes its state (logs too unless asked). */
export async function localDown(options: { dir: string; log?: Log; keepLogs?: boolean }): Promise<boolean> {
  const state = readState(options.dir);
  // The node first: its pods, mounts and network go while containerd can still list them. The
  // control plane is stopped even when the node's cleanup fails; the error is reported after.
  let nodeError: unknown;
  if (state?.node) await stopNode(options.dir, state.node).catch((error: unknown) => (nodeError = error));
  if (state) {
    // Reverse start order: the controller manager and API server first, so neither logs etcd errors.
    await stopProcess(state.pids.controllerManager);
    await stopProcess(state.pids.apiserver);
    await stopProcess(state.pids.etcd);
  }
  if (options.keepLogs) {
    for (const entry of ["etcd-data", "pki", "state.json", "kubeconfig", "controller-manager.kubeconfig", "node/containerd/root", "node/containerd/state", "node/kubelet"]) {
      rmSync(join(options.dir, entry), { recursive: true, force: true });
    }
  } else {
    rmSync(options.dir, { recursive: true, force: true });
  }
  if (nodeError) throw nodeError;
  options.log?.(state ? "landlord: stopped the local control plane and removed its state" : "landlord: no local control plane was running");
  return state !== undefined;
}

/**
 * Stops kube-apiserver of the running control plane in `dir` and starts it again on the same port,
 * certificates and etcd, then waits for /readyz; etcd and the controller manager keep running. For
 * fault tests (an API server restart under a running operator). `whileDown` runs while it is
 * stopped, e.g. to compact etcd so that every watch resumed afterwards is answered 410 Gone.
 */
export async function restartApiserver(options: { dir: string; whileDown?: (state: LocalState) => Promise<void>; readyTimeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<LocalState> {
  const state = readState(options.dir);
  if (!state) throw new Error(`no local control plane in ${options.dir}`);
  const binaries = await ensureBinaries({ env: options.env ?? process.env, log: () => undefined });
  const pki = ensurePki(join(options.dir, "pki"));
  await stopProcess(state.pids.apiserver);
  await options.whileDown?.(state);
  state.pids.apiserver = startApiserver(binaries, options.dir, pki, state.ports);
  writeFileSync(stateFile(options.dir), `${JSON.stringify(state, null, 2)}\n`);
  await waitFor("kube-apiserver", () => apiserverReady(state, 2_000), state.pids.apiserver, join(options.dir, "kube-apiserver.log"), options.readyTimeoutMs ?? 60_000);
  return state;
}

/** Shell lines that point kubectl (the one built with the control plane, first on PATH) at it. */
export function envLines(state: LocalState): string[] {
  return [`export KUBECONFIG=${shellQuote(state.kubeconfig)}`, `export PATH=${shellQuote(state.binDir)}:"$PATH"`];
}

function shellQuote(value: string): string {
  return /^[\w./:@%+=-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

function kubeconfigYaml(options: { server: string; pki: Pki; user: string; cert: string; key: string }): string {
  const b64 = (file: string): string => readFileSync(file).toString("base64");
  // Embedded data rather than file paths: the kubeconfig keeps working when copied elsewhere.
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: landlord-local",
    "  cluster:",
    `    server: ${options.server}`,
    `    certificate-authority-data: ${b64(options.pki.caCert)}`,
    "users:",
    `- name: ${options.user}`,
    "  user:",
    `    client-certificate-data: ${b64(options.cert)}`,
    `    client-key-data: ${b64(options.key)}`,
    "contexts:",
    "- name: landlord-local",
    "  context:",
    "    cluster: landlord-local",
    `    user: ${options.user}`,
    "current-context: landlord-local",
    "",
  ].join("\n");
}

function startEtcd(binaries: Binaries, dir: string, ports: LocalState["ports"]): number {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return startDetached(
    binaries.path.etcd,
    [
      "--name=landlord",
      `--data-dir=${join(dir, "etcd-data")}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=landlord=${peer}`,
      // Durability is irrelevant for a throwaway development store; fsync dominates write latency.
      "--unsafe-no-fsync",
      "--quota-backend-bytes=8589934592",
      "--log-level=warn",
    ],
    join(dir, "etcd.log"),
  );
}

/**
 * Writes by ServiceAccounts — the operator when it runs as the chart's, as in the tests — at
 * Metadata level (who, verb, object; never a body, so never a Secret's data), ConfigMap writes
 * with their request body (Landlord's hold a pool's registry or a tenant's endpoint, nothing
 * secret). Lease renewals are left out: they are constant noise. What an "it wrote nothing"
 * check reads when it fails.
 */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  resources: [{ group: coordination.k8s.io, resources: [leases] }]
- level: Request
  userGroups: ["system:serviceaccounts"]
  verbs: [create, update, patch, delete, deletecollection]
  resources: [{ group: "", resources: [configmaps] }]
- level: Metadata
  userGroups: ["system:serviceaccounts"]
  verbs: [create, update, patch, delete, deletecollection]
- level: None
`;

/** The API server's audit log of ServiceAccount writes (see AUDIT_POLICY). */
export const auditLogPath = (dir: string): string => join(dir, "audit.log");

function startApiserver(binaries: Binaries, dir: string, pki: Pki, ports: LocalState["ports"]): number {
  const policy = join(dir, "audit-policy.yaml");
  writeFileSync(policy, AUDIT_POLICY);
  return startDetached(
    binaries.path["kube-apiserver"],
    [
      `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${ports.apiserver}`,
      `--cert-dir=${join(dir, "pki")}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      // Node: the kubelet of `local up --node` (user system:node:landlord-local) gets exactly the
      // rights over its own pods and node; harmless without one.
      "--authorization-mode=Node,RBAC",
      // The API server's identity towards a kubelet (logs, exec, port-forward).
      `--kubelet-client-certificate=${pki.adminCert}`,
      `--kubelet-client-key=${pki.adminKey}`,
      // The node's name (landlord-local) resolves nowhere; its InternalIP is the bridge address.
      "--kubelet-preferred-address-types=InternalIP,Hostname",
      "--service-cluster-ip-range=10.0.0.0/24",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      // A loopback address is not a valid Endpoints address, and nothing inside the cluster needs one.
      "--endpoint-reconciler-type=none",
      "--allow-privileged=true",
      `--audit-policy-file=${policy}`,
      `--audit-log-path=${auditLogPath(dir)}`,
      "--audit-log-maxsize=64",
      "--audit-log-maxbackup=1",
      "--v=1",
    ],
    join(dir, "kube-apiserver.log"),
  );
}

/**
 * Only the controllers that make a bare API server behave like a cluster for an operator:
 * namespaces finish deleting, owner references are collected, ServiceAccounts and their CA
 * bundle exist, ResourceQuota usage is computed, and aggregated ClusterRoles such as `admin`
 * get their rules. Nothing that needs a node: there is no kubelet, so pods never run.
 */
export const CONTROLLERS = [
  "namespace-controller",
  "garbage-collector-controller",
  "serviceaccount-controller",
  "serviceaccount-token-controller",
  "root-ca-certificate-publisher-controller",
  "resourcequota-controller",
  "clusterrole-aggregation-controller",
] as const;

/**
 * With a node, what makes Deployments, Jobs and the node itself work: pods are created, finished
 * ones collected, and the node loses its not-ready taint once the kubelet reports Ready.
 */
export const NODE_CONTROLLERS = [
  "deployment-controller",
  "replicaset-controller",
  "job-controller",
  "ttl-after-finished-controller",
  "pod-garbage-collector-controller",
  "node-lifecycle-controller",
  "disruption-controller",
] as const;

function startControllerManager(binaries: Binaries, dir: string, pki: Pki, server: string, withNode: boolean): number {
  const kubeconfig = writeControllerManagerKubeconfig(dir, server, pki);
  return startDetached(
    binaries.path["kube-controller-manager"],
    [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      `--controllers=${[...CONTROLLERS, ...(withNode ? NODE_CONTROLLERS : [])].join(",")}`,
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      "--use-service-account-credentials=false",
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      // Port 0 picks a free port for its own health endpoint; nothing here reads it.
      "--secure-port=0",
      `--cert-dir=${join(dir, "pki", "controller-manager")}`,
      "--v=1",
    ],
    join(dir, "kube-controller-manager.log"),
  );
}


function etcdHealthy(port: number): Promise<boolean> {
  return new Promise((resolveCheck) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/health", timeout: 2_000 }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolveCheck(res.statusCode === 200 && body.includes('"health":"true"')));
    });
    req.on("error", () => resolveCheck(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** GET /readyz as the admin; true only for a 200 "ok". */
export function apiserverReady(state: LocalState, timeoutMs: number): Promise<boolean> {
  const pkiDir = join(state.dir, "pki");
  if (!existsSync(join(pkiDir, "admin.key"))) return Promise.resolve(false);
  return new Promise((resolveCheck) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: state.ports.apiserver,
        path: "/readyz",
        ca: readFileSync(join(pkiDir, "ca.crt")),
        cert: readFileSync(join(pkiDir, "admin.crt")),
        key: readFileSync(join(pkiDir, "admin.key")),
        timeout: timeoutMs,
      },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolveCheck(res.statusCode === 200 && body.trim() === "ok"));
      },
    );
    req.on("error", () => resolveCheck(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

function kubectlSucceeds(binaries: Binaries, kubeconfig: string, args: string[]): boolean {
  try {
    execFileSync(binaries.path.kubectl, ["--kubeconfig", kubeconfig, ...args], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
