/**
 * The reliability suite gets a control plane of its own, started exactly as the integration
 * suite's (same helper: etcd + kube-apiserver + kube-controller-manager, the CRDs, the chart's
 * ServiceAccount and RBAC) but in another directory. Its tests restart the API server, compact etcd,
 * loosen a CRD for a while and leave hundreds of namespaces terminating: none of that may leak into
 * the integration tests, which run in the same `npm test` against their own control plane.
 */
export { default } from "../integration/globalSetup.ts";
