import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatDuration, parseConfig, parseDuration, type OperatorConfig } from "../../operator/src/config.ts";

const deps = { hostname: () => "node-1", suffix: () => "abcd1234" };

function config(argv: string[], env: Record<string, string> = {}): OperatorConfig {
  const result = parseConfig(argv, env, deps);
  if (!result.ok) throw new Error(`expected a valid config, got: ${result.error}`);
  return result.config;
}

function error(argv: string[], env: Record<string, string> = {}): string {
  const result = parseConfig(argv, env, deps);
  if (result.ok) throw new Error(`expected an error for ${JSON.stringify(argv)}`);
  return result.error;
}

describe("parseDuration", () => {
  it.each([
    ["0", 0],
    ["500ms", 500],
    ["15s", 15_000],
    ["10m", 600_000],
    ["1h30m", 5_400_000],
    ["1.5h", 5_400_000],
    [".5s", 500],
    ["2h45m30s250ms", 9_930_250],
    ["1m1m", 120_000],
  ])("reads %s as %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "15", "s", "1d", "-5s", "+5s", "1 s", "1h 30m", "1.5.5s", "5S", "0.s5", "1us", "infinity"])("rejects %j, naming the value", (text) => {
    expect(() => parseDuration(text)).toThrow(RangeError);
    expect(() => parseDuration(text)).toThrow(`"${text}"`);
  });

  it("round-trips through formatDuration", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 * 3_600_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
    expect(formatDuration(5_400_000)).toBe("1h30m");
    expect(formatDuration(1500)).toBe("1.5s");
    expect(formatDuration(61_001)).toBe("1m1.001s");
  });
});

describe("parseConfig", () => {
  it("defaults to a plan provisioner, no leader election, ports 8080/8081 and 8 workers", () => {
    expect(config([])).toEqual({
      provisioner: "plan",
      leaderElect: false,
      leaseName: "landlord-leader",
      leaseNamespace: "landlord-system",
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      metricsPort: 8080,
      prometheusTimeoutMs: 10000,
      healthPort: 8081,
      bindAddress: "0.0.0.0",
      concurrency: 8,
      resyncPeriodMs: 600_000,
      logLevel: "info",
      identity: "node-1_abcd1234",
      pulumiWorkDir: join(tmpdir(), "landlord-pulumi"),
      awsRegion: "us-east-1",
      egressAllow: [],
      provisionConcurrency: 4,
      provisionTimeoutMs: 3_600_000,
      cacheSyncTimeoutMs: 120_000,
      kubeApiQps: 1000,
      kubeApiBurst: 2000,
    });
  });

  it("picks the pulumi provisioner when AWS credentials are configured, and then needs a backend", () => {
    expect(config([], { AWS_PROFILE: "prod", PULUMI_BACKEND_URL: "s3://state/landlord" })).toMatchObject({ provisioner: "pulumi", pulumiBackendUrl: "s3://state/landlord" });
    expect(error([], { AWS_ACCESS_KEY_ID: "AKIA0000" })).toMatch(/pulumi provisioner needs a state backend: set --pulumi-backend-url/);
    expect(config(["--provisioner=plan"], { AWS_ACCESS_KEY_ID: "AKIA0000" }).provisioner).toBe("plan");
  });

  it("reads the AWS network and provisioning limits", () => {
    expect(config(["--aws-subnet-ids", "subnet-0abc1234,subnet-0def5678", "--aws-vpc-id=vpc-0abc1234", "--aws-region=eu-west-1", "--provision-timeout=30m"])).toMatchObject({
      awsSubnetIds: ["subnet-0abc1234", "subnet-0def5678"],
      awsVpcId: "vpc-0abc1234",
      awsRegion: "eu-west-1",
      provisionTimeoutMs: 1_800_000,
    });
    expect(error(["--aws-subnet-ids=subnet-0abc1234"])).toMatch(/--aws-subnet-ids: expected a comma-separated list of at least two subnet ids/);
    expect(error(["--pulumi-backend-url=ftp://x"])).toMatch(/--pulumi-backend-url: expected a Pulumi backend URL/);
  });

  it("leaves kubeconfig unset unless a flag or LANDLORD_KUBECONFIG names one: KUBECONFIG, a list, is loadClusterAccess's", () => {
    expect(config([]).kubeconfig).toBeUndefined();
    expect(config([], { KUBECONFIG: "" }).kubeconfig).toBeUndefined();
    expect(config([], { KUBECONFIG: "/a:/b" }).kubeconfig).toBeUndefined();
    expect(config([], { KUBECONFIG: "/a", LANDLORD_KUBECONFIG: "/b" }).kubeconfig).toBe("/b");
    expect(config(["--kubeconfig", "/c"], { KUBECONFIG: "/a", LANDLORD_KUBECONFIG: "/b" }).kubeconfig).toBe("/c");
  });

  it("takes the lease namespace from POD_NAMESPACE when not given", () => {
    expect(config([], { POD_NAMESPACE: "ops" }).leaseNamespace).toBe("ops");
    expect(config(["--lease-namespace=mine"], { POD_NAMESPACE: "ops" }).leaseNamespace).toBe("mine");
  });

  it("reads every option from LANDLORD_<UPPER_SNAKE>, and flags win over the environment", () => {
    const env = {
      LANDLORD_PROVISIONER: "pulumi",
      LANDLORD_LEADER_ELECT: "true",
      LANDLORD_LEASE_NAME: "l",
      LANDLORD_LEASE_NAMESPACE: "ns",
      LANDLORD_LEASE_DURATION: "30s",
      LANDLORD_RENEW_DEADLINE: "20s",
      LANDLORD_RETRY_PERIOD: "5s",
      LANDLORD_METRICS_PORT: "9090",
      LANDLORD_HEALTH_PORT: "9091",
      LANDLORD_BIND_ADDRESS: "127.0.0.1",
      LANDLORD_CONCURRENCY: "16",
      LANDLORD_RESYNC_PERIOD: "1h",
      LANDLORD_LOG_LEVEL: "debug",
      LANDLORD_IDENTITY: "pod-a",
      LANDLORD_PULUMI_BACKEND_URL: "file:///state",
      LANDLORD_CACHE_SYNC_TIMEOUT: "30s",
      LANDLORD_KUBE_API_QPS: "2.5",
      LANDLORD_KUBE_API_BURST: "5",
    };
    expect(config([], env)).toEqual({
      provisioner: "pulumi",
      leaderElect: true,
      leaseName: "l",
      leaseNamespace: "ns",
      leaseDurationMs: 30_000,
      renewDeadlineMs: 20_000,
      retryPeriodMs: 5_000,
      metricsPort: 9090,
      prometheusTimeoutMs: 10000,
      healthPort: 9091,
      bindAddress: "127.0.0.1",
      concurrency: 16,
      resyncPeriodMs: 3_600_000,
      logLevel: "debug",
      identity: "pod-a",
      pulumiBackendUrl: "file:///state",
      pulumiWorkDir: join(tmpdir(), "landlord-pulumi"),
      awsRegion: "us-east-1",
      egressAllow: [],
      provisionConcurrency: 4,
      provisionTimeoutMs: 3_600_000,
      cacheSyncTimeoutMs: 30_000,
      kubeApiQps: 2.5,
      kubeApiBurst: 5,
    });
    const flagged = config(["--concurrency=2", "--leader-elect=false", "--log-level", "warn", "--bind-address", "::"], env);
    expect(flagged).toMatchObject({ concurrency: 2, leaderElect: false, logLevel: "warn", bindAddress: "::", metricsPort: 9090 });
  });

  it("treats a bare boolean flag as true, like Go's flag package", () => {
    expect(config(["--leader-elect"]).leaderElect).toBe(true);
    expect(config(["--leader-elect", "--concurrency", "3"])).toMatchObject({ leaderElect: true, concurrency: 3 });
    expect(config(["-leader-elect=0"]).leaderElect).toBe(false);
  });

  it("treats an empty environment variable as unset", () => {
    expect(config([], { LANDLORD_CONCURRENCY: "" }).concurrency).toBe(8);
  });

  it("gives each replica a distinct default identity", () => {
    const a = parseConfig([], {});
    const b = parseConfig([], {});
    expect(a.ok && b.ok && a.config.identity !== b.config.identity).toBe(true);
  });

  it.each([
    [["--concurrency", "lots"], {}, '--concurrency: expected a whole number from 1 to 64, got "lots"'],
    [["--concurrency=0"], {}, '--concurrency: expected a whole number from 1 to 64, got "0"'],
    [["--concurrency=2.5"], {}, '--concurrency: expected a whole number from 1 to 64, got "2.5"'],
    [["--concurrency="], {}, "--concurrency: expected a whole number from 1 to 64, got an empty value"],
    [[], { LANDLORD_CONCURRENCY: "65" }, 'LANDLORD_CONCURRENCY: expected a whole number from 1 to 64, got "65"'],
    [["--provisioner=aws"], {}, '--provisioner: expected one of plan, pulumi, got "aws"'],
    [["--metrics-port=70000"], {}, '--metrics-port: expected a port number from 0 to 65535 (0 picks a free port), got "70000"'],
    [["--lease-duration=15"], {}, '--lease-duration: expected a positive duration such as 500ms, 15s, 5m or 1h30m, got "15"'],
    [["--resync-period=0"], {}, '--resync-period: expected a positive duration such as 500ms, 15s, 5m or 1h30m, got "0"'],
    [["--log-level=verbose"], {}, '--log-level: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
    [["--leader-elect=maybe"], {}, '--leader-elect: expected true or false, got "maybe"'],
    [["--bind-address=everywhere"], {}, '--bind-address: expected an IP address such as 0.0.0.0, 127.0.0.1 or ::, got "everywhere"'],
    [["--lease-namespace=Ops"], {}, '--lease-namespace: expected a namespace name (a DNS label: lowercase letters, digits and \'-\', at most 63), got "Ops"'],
    [[], { POD_NAMESPACE: "bad_ns" }, 'POD_NAMESPACE: expected a namespace name (a DNS label: lowercase letters, digits and \'-\', at most 63), got "bad_ns"'],
    [["--identity=  "], {}, '--identity: expected a non-empty name for this replica, got "  "'],
    [["--log-level"], {}, "--log-level: expected one of fatal, error, warn, info, debug, trace, silent, got nothing"],
  ] as [string[], Record<string, string>, string][])("rejects %j %j with one line naming the option, value and what is allowed", (argv, env, message) => {
    const line = error(argv, env);
    expect(line).toBe(message);
    expect(line).not.toContain("\n");
  });

  it("rejects unknown flags and stray arguments, listing what is known", () => {
    expect(error(["--concurency=3"])).toMatch(/^--concurency: unknown option; known options are --kubeconfig, .*--concurrency/);
    expect(error(["run"])).toBe('unexpected argument "run": options look like --name=value');
  });

  it("rejects leader election timings client-go would refuse", () => {
    expect(error(["--renew-deadline=15s"])).toBe(
      '--renew-deadline: expected a duration shorter than the lease duration (15s), so a replica gives up leading before another may take over, got "15s"',
    );
    expect(error(["--retry-period=9s"])).toMatch(/^--retry-period: expected a duration under the renew deadline ÷ 1\.2 \(8.333s\).*got "9s"$/);
    expect(error(["--lease-duration=900ms", "--renew-deadline=600ms", "--retry-period=100ms"])).toBe(
      '--lease-duration: expected at least 1s (a Lease counts whole seconds), got "900ms"',
    );
  });

  it("refuses the same port for metrics and health, except 0 (any free port)", () => {
    expect(error(["--metrics-port=9000", "--health-port=9000"])).toBe('--health-port: expected a port other than the metrics port, got "9000"');
    expect(config(["--metrics-port=0", "--health-port=0"])).toMatchObject({ metricsPort: 0, healthPort: 0 });
  });
});
