import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubectlError } from "../../operator/src/local/kubectl.ts";
import { cluster, eventually, k, kAsOperator, kFails, kJson } from "./cluster.ts";

/**
 * Who may write what, against the real API server: the chart's persona ClusterRoles (RBAC: which
 * objects) and its admission policies (which fields, by the groups in admissionValues.ts), each
 * proven allowed and denied with impersonated users. No operator runs here: nothing needs placing.
 * Then the landlord.dev/ labels, reserved to the operator's ServiceAccount.
 */

const run = `pe${Date.now().toString(36)}`;
const USAGE_NS = "landlord-it-usage";
const USAGE_SA = `system:serviceaccount:${USAGE_NS}:usage-exporter`;

const PEOPLE = {
  requester: ["--as=bob", "--as-group=product-team"],
  approver: ["--as=alice", "--as-group=landlord-approvers"],
  reporter: ["--as=rita", "--as-group=landlord-reporters"],
  usage: [`--as=${USAGE_SA}`, "--as-group=system:serviceaccounts"],
  viewer: ["--as=victor", "--as-group=auditors"],
  platformAdmin: ["--as=carol", "--as-group=landlord-platform-admins"],
} as const;

async function canI(args: string[], who: readonly string[]): Promise<boolean> {
  try {
    return (await k(["auth", "can-i", ...args, ...who])).trim() === "yes";
  } catch (error) {
    if (error instanceof KubectlError && error.stdout.trim() === "no") return false;
    throw error;
  }
}

const manifest = (name: string, spec: Record<string, unknown> = {}, annotations?: Record<string, string>): string =>
  JSON.stringify({ apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name, ...(annotations ? { annotations } : {}) }, spec: { tenantId: name, costCenter: "cc-persona", ...spec } });
const patch = (name: string, body: Record<string, unknown>, who: readonly string[]): Promise<string> => k(["patch", "tp", name, "--type=merge", "-p", JSON.stringify(body), ...who]);
const patchFails = (name: string, body: Record<string, unknown>, who: readonly string[]): Promise<string> => kFails(["patch", "tp", name, "--type=merge", "-p", JSON.stringify(body), ...who]);

describe("the personas", () => {
  const release = cluster().operator.release;
  const bindings = [
    ["tenant-requester", "Group", "product-team"],
    ["tenant-requester", "Group", "landlord-platform-admins"],
    ["approver", "Group", "landlord-approvers"],
    ["reporter", "Group", "landlord-reporters"],
    ["reporter", "User", USAGE_SA],
    ["viewer", "Group", "auditors"],
  ] as const;
  const shared = `${run}-shared`;

  beforeAll(async () => {
    await k(["create", "namespace", USAGE_NS]).catch(() => undefined);
    await k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: bindings.map(([role, kind, name], i) => ({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: `${run}-${i}` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${release}-${role}` },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind, name }],
      })),
    }));
    await k(["create", "-f", "-"], manifest(shared, { reportedSignals: { monthlyRevenueUSD: 100 } }));
    await eventually(async () => ((await canI(["patch", "tenantplacements.landlord.dev"], PEOPLE.approver)) ? true : undefined), { what: "the approver role" });
  });

  afterAll(async () => {
    await k(["delete", "clusterrolebinding", ...bindings.map((_, i) => `${run}-${i}`), "--ignore-not-found"]).catch(() => undefined);
    await k(["delete", "tp", "-l", `persona-run=${run}`, "--ignore-not-found"]).catch(() => undefined);
    await k(["delete", "tp", shared, `${run}-bob`, `${run}-carol`, "--ignore-not-found", "--wait=false"]).catch(() => undefined);
  });

  describe("RBAC: which objects each ClusterRole reaches", () => {
    const cases: Array<[keyof typeof PEOPLE, string[], boolean]> = [
      ["requester", ["create", "tenantplacements.landlord.dev"], true],
      ["requester", ["patch", "tenantplacements.landlord.dev"], true],
      ["requester", ["delete", "tenantplacements.landlord.dev"], false],
      ["requester", ["patch", "tenantplacements.landlord.dev", "--subresource=status"], false],
      ["requester", ["create", "placementdecisions.landlord.dev"], false],
      ["requester", ["patch", "placementpolicies.landlord.dev"], false],
      ["approver", ["patch", "tenantplacements.landlord.dev"], true],
      ["approver", ["list", "placementdecisions.landlord.dev"], true],
      ["approver", ["create", "tenantplacements.landlord.dev"], false],
      ["approver", ["delete", "placementdecisions.landlord.dev"], false],
      ["reporter", ["patch", "tenantplacements.landlord.dev"], true],
      ["reporter", ["create", "tenantplacements.landlord.dev"], false],
      ["usage", ["patch", "tenantplacements.landlord.dev"], true],
      ["viewer", ["list", "tenantplacements.landlord.dev"], true],
      ["viewer", ["get", "placementdecisions.landlord.dev"], true],
      ["viewer", ["patch", "tenantplacements.landlord.dev"], false],
      ["viewer", ["create", "tenantplacements.landlord.dev"], false],
      ["viewer", ["get", "secrets", "-n", "default"], false],
    ];
    it.each(cases)("%s: can-i %s → %s", async (who, args, allowed) => {
      expect(await canI(args, PEOPLE[who])).toBe(allowed);
    });
  });

  describe("admission: which fields", () => {
    it("a product team creates a tenant with the defaults and edits its descriptive fields", async () => {
      const name = `${run}-bob`;
      await k(["create", "-f", "-", ...PEOPLE.requester], manifest(name, { displayName: "Bob's shop", tags: { team: "shop" } }));
      await patch(name, { spec: { displayName: "Bob's Shop Ltd", costCenter: "cc-shop", tags: { team: "shop", env: "prod" } } }, PEOPLE.requester);
      expect((await kJson<{ spec: { displayName: string } }>(["get", "tp", name])).spec.displayName).toBe("Bob's Shop Ltd");
    });

    it("but not the privileged fields, approvals or signals, on create or on update", async () => {
      const name = `${run}-bob`;
      const notOne = /bob is not one/;
      for (const spec of [{ admins: [{ kind: "User", name: "bob" }] }, { deletionPolicy: "Delete" }, { tier: { mode: "Pinned", pinned: "account" } }, { tier: { floor: "namespace" } }, { policyRef: "lenient" }, { pool: "premium" }, { quota: { cpu: "64" } }]) {
        expect(await kFails(["create", "-f", "-", ...PEOPLE.requester], manifest(`${run}-bob2`, spec)), JSON.stringify(spec)).toMatch(notOne);
        expect(await patchFails(name, { spec }, PEOPLE.requester), JSON.stringify(spec)).toMatch(notOne);
      }
      expect(await patchFails(name, { spec: { admins: [{ kind: "User", name: "bob" }] } }, PEOPLE.requester)).toContain("may set spec.admins (they get the admin role in the tenant namespace); bob is not one");
      expect(await patchFails(name, { spec: { deletionPolicy: "Delete" } }, PEOPLE.requester)).toContain("may set spec.deletionPolicy other than Retain");
      expect(await patchFails(name, { metadata: { annotations: { "landlord.dev/approve-tier": "account", "landlord.dev/approve-reason": "self-service" } } }, PEOPLE.requester)).toContain("may set or remove landlord.dev/approve-tier; bob is not one");
      expect(await patchFails(name, { spec: { reportedSignals: { monthlyRevenueUSD: 999999 } } }, PEOPLE.requester)).toContain("bob may not write spec.reportedSignals.monthlyRevenueUSD");
    });

    it("a platform admin sets them, with a reason for the tier", async () => {
      const name = `${run}-carol`;
      await k(
        ["create", "-f", "-", ...PEOPLE.platformAdmin],
        manifest(name, { admins: [{ kind: "Group", name: "carol-team" }], deletionPolicy: "Snapshot", tier: { floor: "namespace" } }, { "landlord.dev/tier-reason": "contract C-9: own namespace" }),
      );
      const created = await kJson<{ metadata: { annotations: Record<string, string> } }>(["get", "tp", name]);
      expect(created.metadata.annotations["landlord.dev/tier-changed-by"]).toBe("carol");
    });

    it("an approver approves, and may edit nothing privileged", async () => {
      const approved = JSON.parse(await patch(shared, { metadata: { annotations: { "landlord.dev/approve-tier": "namespace", "landlord.dev/approve-reason": "CHG-77" } } }, [...PEOPLE.approver, "-o", "json"])) as { metadata: { annotations: Record<string, string> } };
      expect(approved.metadata.annotations["landlord.dev/approved-by"]).toBe("alice");
      expect(await patchFails(shared, { spec: { tier: { mode: "Pinned", pinned: "account" } } }, PEOPLE.approver)).toMatch(/may set spec\.tier .*alice is not one/);
      // Withdrawing an approval is an approver's act too.
      await patch(shared, { metadata: { annotations: { "landlord.dev/approve-tier": null } } }, PEOPLE.approver);
      expect(await patchFails(shared, { metadata: { annotations: { "landlord.dev/approve-tier": "namespace", "landlord.dev/approve-reason": "mine" } } }, PEOPLE.reporter)).toContain("rita is not one");
    });

    it("each reporter writes the signals named for it, and no other", async () => {
      await patch(shared, { spec: { reportedSignals: { monthlyRevenueUSD: 4200, hipaa: 1 } } }, PEOPLE.reporter);
      expect(await patchFails(shared, { spec: { reportedSignals: { churnRisk: 1 } } }, PEOPLE.reporter)).toContain("rita may not write spec.reportedSignals.churnRisk");
      await patch(shared, { spec: { reportedSignals: { requestsPerDay: 50000 } } }, PEOPLE.usage);
      expect(await patchFails(shared, { spec: { reportedSignals: { monthlyRevenueUSD: 1 } } }, PEOPLE.usage)).toContain(`${USAGE_SA} may not write spec.reportedSignals.monthlyRevenueUSD`);
      // Removing a signal is writing it too.
      expect(await patchFails(shared, { spec: { reportedSignals: { hipaa: null } } }, PEOPLE.usage)).toContain("spec.reportedSignals.hipaa");
      expect(await patchFails(shared, { spec: { displayName: "x", reportedSignals: { monthlyRevenueUSD: 1 } } }, PEOPLE.requester)).toContain("bob may not write");
      const signals = (await kJson<{ spec: { reportedSignals: Record<string, number> } }>(["get", "tp", shared])).spec.reportedSignals;
      expect(signals).toEqual({ monthlyRevenueUSD: 4200, hipaa: 1, requestsPerDay: 50000 });
    });
  });

  describe("the landlord.dev/ labels are the operator's", () => {
    const ns = `${run}-labels`;

    beforeAll(async () => {
      await k(["create", "namespace", ns]);
    });

    afterAll(async () => {
      await k(["delete", "namespace", ns, `${run}-forged`, "--ignore-not-found", "--wait=false"]).catch(() => undefined);
    });

    it("nobody else may create a labelled ConfigMap, Namespace or RoleBinding the operator would believe", async () => {
      const registry = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "landlord-tenants", namespace: ns, labels: { "landlord.dev/managed-by": "landlord", "landlord.dev/pool": "standard" } }, data: { victim: "{}" } };
      // The two labels in either order: CEL gives a map's keys in no fixed order.
      expect(await kFails(["create", "-f", "-"], JSON.stringify(registry))).toMatch(
        /labels under landlord\.dev\/ are reserved to the Landlord operator \(it trusts objects that carry them\): landlord-admin may not create configmaps carrying (landlord\.dev\/managed-by, landlord\.dev\/pool|landlord\.dev\/pool, landlord\.dev\/managed-by)$/m,
      );
      expect(await kFails(["create", "-f", "-", "--as=bob", "--as-group=system:masters"], JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: `${run}-forged`, labels: { "landlord.dev/tenant": "victim" } } }))).toContain("bob may not create namespaces carrying landlord.dev/tenant");
      expect(await kFails(["label", "namespace", ns, "landlord.dev/managed-by=landlord"])).toContain("may not add, change or remove landlord.dev/managed-by");
      // Other labels stay anyone's.
      await k(["label", "namespace", ns, "team=growth"]);
    });

    it("the operator's ServiceAccount may, and nobody may strip its labels afterwards", async () => {
      const own = `${run}-own`;
      await kAsOperator(["apply", "--server-side", "--field-manager=landlord", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: own, labels: { "landlord.dev/managed-by": "landlord", "pod-security.kubernetes.io/enforce": "restricted" } } }));
      try {
        expect(await kFails(["label", "namespace", own, "landlord.dev/managed-by-"])).toContain("may not add, change or remove landlord.dev/managed-by");
        expect(await kFails(["label", "namespace", own, "--overwrite", "landlord.dev/managed-by=someone"])).toContain("landlord.dev/managed-by");
        await k(["label", "namespace", own, "team=growth"]);
      } finally {
        await kAsOperator(["delete", "namespace", own, "--wait=false"]).catch(() => undefined);
      }
    });
  });
});
