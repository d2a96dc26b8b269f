import { defineConfig } from "vitest/config";

// Every cache the tests create, in process or in an operator they spawn, freezes what it holds: a
// reconcile that changes a cached object in place throws where it does it (see kube/store.ts).
process.env.LANDLORD_FREEZE_CACHE ??= "1";

export default defineConfig({
  test: {
    reporters: ["default", "./test/summaryReporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          // Unit tests first: they fail fast, before the control plane is worth waiting for.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          // One real control plane per run (etcd + kube-apiserver + kube-controller-manager), shared by
          // every integration test file; each test uses its own tenant names and cleans up.
          globalSetup: ["test/integration/globalSetup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // One file at a time: the operator tests run their own operator processes, and two operators
          // reconciling one cluster without a shared lease would fight over it.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: "reliability",
          include: ["test/reliability/**/*.test.ts"],
          // A control plane of its own (test/reliability/globalSetup.ts): these tests restart the API
          // server, compact etcd and swap a CRD, which must not disturb the integration tests.
          globalSetup: ["test/reliability/globalSetup.ts"],
          testTimeout: 300_000,
          hookTimeout: 180_000,
          // One file at a time, for the same reason as the integration tests: every operator a test
          // starts reconciles the whole cluster.
          fileParallelism: false,
          // Last: the slowest group, and the one most likely to fail for a reason worth reading.
          sequence: { groupOrder: 2 },
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          // The chart in real pods on a local node (test/e2e/node.test.ts): a control plane and a node
          // of its own, the image built once (cached by content), the steps in order.
          testTimeout: 600_000,
          hookTimeout: 900_000,
          fileParallelism: false,
          // After everything else: it needs the machine's bridge and cgroups to itself, and its first
          // run builds the image.
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
