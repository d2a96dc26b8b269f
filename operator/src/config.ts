import { randomBytes } from "node:crypto";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

/**
 * The operator's configuration, from flags and environment (flags win). The only module that reads
 * configuration from the environment: everything else receives an OperatorConfig.
 */

export const PROVISIONERS = ["plan", "pulumi"] as const;

/** One --egress-allow destination that pods of Landlord's namespaces may reach: a CIDR and, optionally, one TCP port. */
export interface EgressAllowance {
  cidr: string;
  port?: number;
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** An IPv4 CIDR as its 32-bit base address and prefix length; undefined when `text` is not one. */
export function parseIpv4Cidr(text: string): { base: number; bits: number } | undefined {
  const match = IPV4_CIDR.exec(text);
  if (!match) return undefined;
  const [a, b, c, d] = match.slice(1, 5).map(Number) as [number, number, number, number];
  const bits = Number(match[5]);
  if ([a, b, c, d].some((o) => o > 255) || bits > 32) return undefined;
  return { base: ((a << 24) | (b << 16) | (c << 8) | d) >>> 0, bits };
}

/** Parses `10.0.0.0/16` or `10.0.0.0/16:5432`; throws a one-line error naming the value otherwise. */
export function parseEgressAllowance(text: string): EgressAllowance {
  const [cidr = "", port, ...rest] = text.trim().split(":");
  if (!parseIpv4Cidr(cidr) || rest.length > 0) {
    throw new RangeError(`invalid egress allowance ${JSON.stringify(text)}: expected an IPv4 CIDR with an optional TCP port, e.g. 10.0.0.0/16 or 10.0.32.0/20:5432`);
  }
  if (port === undefined) return { cidr };
  const number = Number(port);
  if (!/^\d+$/.test(port) || number < 1 || number > 65535) throw new RangeError(`invalid egress allowance ${JSON.stringify(text)}: the port must be 1 to 65535`);
  return { cidr, port: number };
}
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

// Nanoseconds per unit: summing integer nanoseconds (as Go does) keeps "1.001s" exactly 1001 ms.
const UNIT_NS = { ms: 1e6, s: 1e9, m: 6e10, h: 3.6e12 } as const;
const DURATION_PART = /(\d*)(?:\.(\d*))?(ms|s|m|h)/y;

/**
 * Parses a Go duration ("1h30m", "15s", "500ms", "1.5h", "0") into milliseconds. Only the units the
 * operator uses (ms, s, m, h) are accepted, and no sign: there is no use for a negative duration.
 * Throws a RangeError naming the value otherwise.
 */
export function parseDuration(text: string): number {
  if (text === "0") return 0;
  const invalid = (): RangeError => new RangeError(`invalid duration "${text}": expected a duration such as 500ms, 15s, 5m or 1h30m (units ms, s, m, h)`);
  if (text === "") throw invalid();
  let ns = 0;
  let at = 0;
  while (at < text.length) {
    DURATION_PART.lastIndex = at;
    const match = DURATION_PART.exec(text);
    const [whole = "", fraction = "", unit] = match?.slice(1) ?? [];
    if (!match || (whole === "" && fraction === "")) throw invalid();
    const size = UNIT_NS[unit as keyof typeof UNIT_NS];
    ns += Number(whole || "0") * size + Math.round((Number(fraction || "0") * size) / 10 ** fraction.length);
    at = DURATION_PART.lastIndex;
  }
  if (!Number.isFinite(ns)) throw invalid();
  return ns / 1e6;
}

/** Go-style, for messages: 5_400_000 → "1h30m", 1500 → "1.5s", 250 → "250ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${Number(ms.toFixed(3))}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = Number(((ms % 60_000) / 1000).toFixed(3));
  return `${hours ? `${hours}h` : ""}${minutes ? `${minutes}m` : ""}${seconds ? `${seconds}s` : ""}`;
}

const wholeNumber = (min: number, max: number) =>
  z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));

const durationMs = z.string().transform((text, ctx) => {
  try {
    const ms = parseDuration(text);
    if (ms > 0) return ms;
  } catch {
    // Reported below with the option's name.
  }
  ctx.addIssue({ code: "custom", message: "not a positive duration" });
  return z.NEVER;
});

const bool = z.string().transform((text, ctx) => {
  const lower = text.toLowerCase();
  if (["true", "1", "t", "yes"].includes(lower)) return true;
  if (["false", "0", "f", "no"].includes(lower)) return false;
  ctx.addIssue({ code: "custom", message: "not a boolean" });
  return z.NEVER;
});

const dnsLabel = z.string().max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
const dnsSubdomain = z.string().max(253).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);

const configSchema = z.object({
  kubeconfig: z.string().min(1).optional(),
  provisioner: z.enum(PROVISIONERS),
  leaderElect: z.boolean(),
  leaseName: z.string(),
  leaseNamespace: z.string(),
  leaseDurationMs: z.number().positive(),
  renewDeadlineMs: z.number().positive(),
  retryPeriodMs: z.number().positive(),
  metricsPort: z.number().int(),
  healthPort: z.number().int(),
  bindAddress: z.string(),
  concurrency: z.number().int(),
  resyncPeriodMs: z.number().positive(),
  logLevel: z.enum(LOG_LEVELS),
  identity: z.string().min(1),
  prometheusUrl: z.string().optional(),
  prometheusTimeoutMs: z.number().positive(),
  prometheusTokenSecret: z.string().optional(),
  pulumiBackendUrl: z.string().optional(),
  pulumiSecretsProvider: z.string().optional(),
  pulumiWorkDir: z.string(),
  awsRegion: z.string(),
  awsVpcId: z.string().optional(),
  awsSubnetIds: z.array(z.string()).optional(),
  awsClientCidrs: z.array(z.string()).optional(),
  egressAllow: z.array(z.object({ cidr: z.string(), port: z.number().int().optional() })),
  provisionConcurrency: z.number().int(),
  provisionTimeoutMs: z.number().positive(),
  cacheSyncTimeoutMs: z.number().positive(),
  kubeApiQps: z.number().nonnegative(),
  kubeApiBurst: z.number().int().positive(),
});

export type OperatorConfig = z.infer<typeof configSchema>;
type Key = keyof OperatorConfig;

interface OptionSpec {
  key: Key;
  flag: string;
  /** What is allowed, for the error line: "expected <this>, got ...". */
  expected: string;
  schema: z.ZodType<unknown, string>;
  boolean?: true;
  /** A conventional environment variable read after LANDLORD_<NAME> (KUBECONFIG, POD_NAMESPACE). */
  fallbackEnv?: string;
  fallback: (deps: ConfigDeps, env: Record<string, string | undefined>) => string | undefined;
  /** The default in words, for --help, when the fallback depends on more than the option itself. */
  helpDefault?: string;
}

/** Any of the AWS SDK's usual credential sources: with one, the real (pulumi) provisioner is the default. */
export const AWS_CREDENTIAL_ENV = ["AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] as const;
const hasAwsCredentials = (env: Record<string, string | undefined>): boolean => AWS_CREDENTIAL_ENV.some((name) => Boolean(env[name]));

const PORT_EXPECTED = "a port number from 0 to 65535 (0 picks a free port)";
const DURATION_EXPECTED = "a positive duration such as 500ms, 15s, 5m or 1h30m";

const OPTIONS: OptionSpec[] = [
  // KUBECONFIG is not read here: it is a list of files (a:b), which loadClusterAccess merges as
  // kubectl does; this option, like kubectl's flag, names exactly one file.
  {
    key: "kubeconfig",
    flag: "kubeconfig",
    expected: "a path to one kubeconfig file",
    helpDefault: "the files in $KUBECONFIG merged as kubectl merges them, then in-cluster credentials, then ~/.kube/config",
    schema: z.string().min(1),
    fallback: () => undefined,
  },
  { key: "provisioner", flag: "provisioner", expected: `one of ${PROVISIONERS.join(", ")}`, helpDefault: "plan, or pulumi when AWS credentials are in the environment", schema: z.enum(PROVISIONERS), fallback: (_deps, env) => (hasAwsCredentials(env) ? "pulumi" : "plan") },
  { key: "leaderElect", flag: "leader-elect", expected: "true or false", schema: bool, boolean: true, fallback: () => "false" },
  { key: "leaseName", flag: "lease-name", expected: "a DNS subdomain name (lowercase letters, digits, '-' and '.')", schema: dnsSubdomain, fallback: () => "landlord-leader" },
  { key: "leaseNamespace", flag: "lease-namespace", expected: "a namespace name (a DNS label: lowercase letters, digits and '-', at most 63)", schema: dnsLabel, fallbackEnv: "POD_NAMESPACE", fallback: () => "landlord-system" },
  { key: "leaseDurationMs", flag: "lease-duration", expected: DURATION_EXPECTED, schema: durationMs, fallback: () => "15s" },
  { key: "renewDeadlineMs", flag: "renew-deadline", expected: DURATION_EXPECTED, schema: durationMs, fallback: () => "10s" },
  { key: "retryPeriodMs", flag: "retry-period", expected: DURATION_EXPECTED, schema: durationMs, fallback: () => "2s" },
  { key: "metricsPort", flag: "metrics-port", expected: PORT_EXPECTED, schema: wholeNumber(0, 65535), fallback: () => "8080" },
  { key: "healthPort", flag: "health-port", expected: PORT_EXPECTED, schema: wholeNumber(0, 65535), fallback: () => "8081" },
  { key: "bindAddress", flag: "bind-address", expected: "an IP address such as 0.0.0.0, 127.0.0.1 or ::", schema: z.union([z.ipv4(), z.ipv6(), z.literal("localhost")]), fallback: () => "0.0.0.0" },
  { key: "concurrency", flag: "concurrency", expected: "a whole number from 1 to 64", schema: wholeNumber(1, 64), fallback: () => "8" },
  { key: "resyncPeriodMs", flag: "resync-period", expected: DURATION_EXPECTED, schema: durationMs, fallback: () => "10m" },
  { key: "logLevel", flag: "log-level", expected: `one of ${LOG_LEVELS.join(", ")}`, schema: z.enum(LOG_LEVELS), fallback: () => "info" },
  {
    key: "prometheusUrl",
    flag: "prometheus-url",
    expected: "an http(s) URL such as http://prometheus.monitoring:9090",
    schema: z.url({ protocol: /^https?$/ }),
    fallback: () => undefined,
  },
  { key: "prometheusTimeoutMs", flag: "prometheus-timeout", expected: DURATION_EXPECTED, schema: durationMs, fallback: () => "10s" },
  {
    key: "prometheusTokenSecret",
    flag: "prometheus-token-secret",
    expected: "the name of a Secret in the operator's namespace whose key `token` holds a bearer token",
    schema: dnsSubdomain,
    fallback: () => undefined,
  },
  {
    key: "pulumiBackendUrl",
    flag: "pulumi-backend-url",
    expected: "a Pulumi backend URL such as s3://bucket/prefix, file:///var/lib/landlord or https://api.pulumi.com",
    schema: z.string().regex(/^(file|s3|gs|azblob|https?):\/\/.+/),
    fallbackEnv: "PULUMI_BACKEND_URL",
    fallback: () => undefined,
  },
  {
    key: "pulumiSecretsProvider",
    flag: "pulumi-secrets-provider",
    expected: "a Pulumi secrets provider such as awskms://alias/landlord or passphrase",
    schema: z.string().regex(/^(passphrase|default|(awskms|gcpkms|azurekeyvault|hashivault):\/\/.+)$/),
    fallback: () => undefined,
  },
  { key: "pulumiWorkDir", flag: "pulumi-work-dir", expected: "a writable directory for the Pulumi workspaces", schema: z.string().min(1), fallback: () => join(tmpdir(), "landlord-pulumi") },
  { key: "awsRegion", flag: "aws-region", expected: "an AWS region such as eu-west-1", schema: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/), fallbackEnv: "AWS_REGION", fallback: () => "us-east-1" },
  { key: "awsVpcId", flag: "aws-vpc-id", expected: "a VPC id such as vpc-0abc1234", schema: z.string().regex(/^vpc-[0-9a-f]{8,17}$/), fallback: () => undefined },
  {
    key: "awsSubnetIds",
    flag: "aws-subnet-ids",
    expected: "a comma-separated list of at least two subnet ids such as subnet-0abc1234,subnet-0def5678",
    schema: z.string().transform((text) => text.split(",").map((s) => s.trim())).pipe(z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/)).min(2)),
    fallback: () => undefined,
  },
  {
    key: "awsClientCidrs",
    flag: "aws-client-cidrs",
    expected: "a comma-separated list of IPv4 CIDRs the cluster's nodes and pods connect from, e.g. 10.0.0.0/19,100.64.0.0/16 (a dedicated RDS instance admits only these)",
    schema: z.string().transform((text) => text.split(",").map((s) => s.trim())).pipe(z.array(z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/)).min(1).max(50)),
    fallback: () => undefined,
  },
  {
    key: "egressAllow",
    flag: "egress-allow",
    expected: "a comma-separated list of IPv4 CIDRs with an optional TCP port that pods of every Landlord namespace may reach, e.g. 10.0.32.0/20:5432 (empty: only their own namespace and DNS)",
    schema: z.string().transform((text, ctx) => {
      try {
        return text.split(",").map((s) => s.trim()).filter((s) => s !== "").map(parseEgressAllowance);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    }),
    fallback: () => "",
  },
  { key: "provisionConcurrency", flag: "provision-concurrency", expected: "a whole number from 1 to 32", schema: wholeNumber(1, 32), fallback: () => "4" },
  { key: "provisionTimeoutMs", flag: "provision-timeout", expected: DURATION_EXPECTED, schema: durationMs, fallback: () => "60m" },
  { key: "cacheSyncTimeoutMs", flag: "cache-sync-timeout", expected: DURATION_EXPECTED, schema: durationMs, fallback: () => "2m" },
  // Far above what converging 5,000 tenants needs (~480 writes/s on 2 cores, the bench's figure),
  // so the limit only stops a runaway loop; API Priority and Fairness (429s, honoured) is the
  // server's own protection.
  {
    key: "kubeApiQps",
    flag: "kube-api-qps",
    expected: "requests per second to the API server, a number such as 50 or 2.5 (0: no client-side limit)",
    schema: z.string().regex(/^\d+(\.\d+)?$/).transform(Number).pipe(z.number().max(100_000)),
    fallback: () => "1000",
  },
  { key: "kubeApiBurst", flag: "kube-api-burst", expected: "a whole number from 1 to 100000 (requests allowed at once above --kube-api-qps)", schema: wholeNumber(1, 100_000), fallback: () => "2000" },
  { key: "identity", flag: "identity", expected: "a non-empty name for this replica", schema: z.string().trim().min(1), fallback: (deps) => `${deps.hostname()}_${deps.suffix()}` },
];

export const envName = (flag: string): string => `LANDLORD_${flag.toUpperCase().replaceAll("-", "_")}`;

/** One line per option for `landlord operator --help`, from the same table the parser uses. */
export function optionsHelp(): string {
  const deps: ConfigDeps = { hostname: () => "<hostname>", suffix: () => "<random>" };
  return OPTIONS.map((option) => {
    const fallback = option.helpDefault ?? option.fallback(deps, {});
    const defaults = [option.fallbackEnv ? `$${option.fallbackEnv}` : undefined, fallback].filter(Boolean).join(", then ");
    const value = option.boolean ? "" : ` ${option.flag.split("-").at(-1)?.toUpperCase()}`;
    return `  --${option.flag}${value}\n      ${option.expected}${defaults ? ` (default: ${defaults})` : ""}`;
  }).join("\n");
}

export interface ConfigDeps {
  hostname: () => string;
  /** Random suffix of the default identity, so two replicas on one host never share it. */
  suffix: () => string;
}

const defaultDeps: ConfigDeps = { hostname, suffix: () => randomBytes(4).toString("hex") };

export type ParseConfigResult = { ok: true; config: OperatorConfig } | { ok: false; error: string };

/** Where a value came from, to name it in an error: "--concurrency", "LANDLORD_CONCURRENCY". */
type Source = { name: string; raw: string };

export function parseConfig(argv: string[], env: Record<string, string | undefined>, deps: ConfigDeps = defaultDeps): ParseConfigResult {
  const flags = readFlags(argv);
  if (!flags.ok) return flags;
  const values: Record<string, unknown> = {};
  const sources = new Map<Key, Source>();
  for (const option of OPTIONS) {
    const source = pick(option, flags.values, env);
    const raw = source?.raw ?? option.fallback(deps, env);
    if (raw === undefined) continue;
    const parsed = option.schema.safeParse(raw);
    if (!parsed.success) {
      const got = source?.raw === "" ? "an empty value" : JSON.stringify(raw);
      return { ok: false, error: `${source?.name ?? `--${option.flag}`}: expected ${option.expected}, got ${got}` };
    }
    values[option.key] = parsed.data;
    sources.set(option.key, source ?? { name: `--${option.flag}`, raw });
  }
  const config = configSchema.safeParse(values);
  // The option parsers above produce exactly the schema's types; this can only fail on a bug here.
  if (!config.success) return { ok: false, error: `invalid configuration: ${z.prettifyError(config.error).replaceAll("\n", "; ")}` };
  const conflict = checkCombination(config.data, (key) => sources.get(key) as Source);
  return conflict ? { ok: false, error: conflict } : { ok: true, config: config.data };
}

function pick(option: OptionSpec, flags: Map<string, string>, env: Record<string, string | undefined>): Source | undefined {
  const flag = flags.get(option.flag);
  if (flag !== undefined) return { name: `--${option.flag}`, raw: flag };
  // An empty variable counts as unset (as client-go treats KUBECONFIG): charts and shells often
  // define a variable with no value to mean "use the default".
  for (const name of [envName(option.flag), option.fallbackEnv]) {
    const raw = name === undefined ? undefined : env[name];
    if (name !== undefined && raw) return { name, raw };
  }
  return undefined;
}

/** Rules between options: client-go's leader election refuses the same combinations. */
function checkCombination(config: OperatorConfig, source: (key: Key) => Source): string | undefined {
  if (config.renewDeadlineMs >= config.leaseDurationMs) {
    return `${source("renewDeadlineMs").name}: expected a duration shorter than the lease duration (${formatDuration(config.leaseDurationMs)}), so a replica gives up leading before another may take over, got "${source("renewDeadlineMs").raw}"`;
  }
  if (config.retryPeriodMs * 1.2 >= config.renewDeadlineMs) {
    return `${source("retryPeriodMs").name}: expected a duration under the renew deadline ÷ 1.2 (${formatDuration(config.renewDeadlineMs / 1.2)}), so a failed renewal is retried before the deadline, got "${source("retryPeriodMs").raw}"`;
  }
  if (config.leaseDurationMs < 1000) {
    return `${source("leaseDurationMs").name}: expected at least 1s (a Lease counts whole seconds), got "${source("leaseDurationMs").raw}"`;
  }
  if (config.provisioner === "pulumi" && !config.pulumiBackendUrl) {
    return `${source("provisioner").name}: the pulumi provisioner needs a state backend: set --pulumi-backend-url (or PULUMI_BACKEND_URL), e.g. s3://my-bucket/landlord; or use --provisioner=plan`;
  }
  if (config.metricsPort !== 0 && config.metricsPort === config.healthPort) {
    return `${source("healthPort").name}: expected a port other than the metrics port, got "${source("healthPort").raw}"`;
  }
  return undefined;
}

type FlagResult = { ok: true; values: Map<string, string> } | { ok: false; error: string };

/** Go-flag style: --name=value, --name value; a boolean flag alone means true (--leader-elect). */
function readFlags(argv: string[]): FlagResult {
  const byFlag = new Map(OPTIONS.map((option) => [option.flag, option]));
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const match = /^--?([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (!match) return { ok: false, error: `unexpected argument ${JSON.stringify(arg)}: options look like --name=value` };
    const name = match[1] as string;
    const option = byFlag.get(name);
    if (!option) return { ok: false, error: `--${name}: unknown option; known options are ${OPTIONS.map((o) => `--${o.flag}`).join(", ")}` };
    let value = match[2];
    if (value === undefined) {
      if (option.boolean) value = "true";
      else if (i + 1 < argv.length) value = argv[++i] as string;
      else return { ok: false, error: `--${name}: expected ${option.expected}, got nothing` };
    }
    values.set(name, value);
  }
  return { ok: true, values };
}
