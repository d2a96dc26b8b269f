#!/usr/bin/env bash
# End-to-end on a real cluster with a kubelet: a kind cluster, the operator image built from the
# repository's Dockerfile, and the checks of test/e2e/checks.sh (the Helm chart, the examples, a
# promotion, leader failover, migration Jobs, upgrade and uninstall).
#
#   test/e2e/kind.sh            # create the cluster, run, delete it
#   KEEP_CLUSTER=1 test/e2e/kind.sh   # leave it running to look around (kind delete cluster --name landlord-e2e)
#
# Needs docker, kind, kubectl and helm on PATH (helm: `npx landlord local build` prints the
# directory of the one the tests use). Not run by `npm test`, which runs the same checks on the
# local node (test/e2e/node.test.ts) where Docker is not needed.
set -euo pipefail

cd "$(dirname "$0")/../.."
CLUSTER="${CLUSTER:-landlord-e2e}"
IMAGE="${IMAGE:-landlord:e2e}"
NAMESPACE="${NAMESPACE:-landlord-system}"
# The plan provisioner needs no Pulumi CLI in the image; PULUMI=pulumi builds it in (minutes).
PULUMI="${PULUMI:-none}"

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'kind.sh: %s\n' "$*" >&2; exit 1; }

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH; install it first"
done
docker info >/dev/null 2>&1 || die "cannot reach the Docker daemon (is it running, and may this user use it?)"

cleanup() {
  status=$?
  if [ "$status" -ne 0 ]; then
    printf '\nkind.sh: failed; the operator said:\n' >&2
    kubectl -n "$NAMESPACE" logs -l app.kubernetes.io/name=landlord --tail=50 --prefix 2>/dev/null >&2 || true
    kubectl get tp -o wide 2>/dev/null >&2 || true
  fi
  if [ "${KEEP_CLUSTER:-0}" = "1" ]; then
    printf '\nkind.sh: cluster %s kept; delete it with: kind delete cluster --name %s\n' "$CLUSTER" "$CLUSTER"
  else
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
  exit "$status"
}
trap cleanup EXIT

log "Creating kind cluster $CLUSTER"
if ! kind get clusters | grep -qx "$CLUSTER"; then
  kind create cluster --name "$CLUSTER" --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null

log "Building $IMAGE (PULUMI=$PULUMI) and loading it into the cluster"
docker build --build-arg "PULUMI=$PULUMI" -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

# The same checks as the local node's suite (test/e2e/node.test.ts): install, leader, examples,
# promotion, namespace guard, metrics, failover, migration Jobs, upgrade, uninstall.
IMAGE="$IMAGE" NAMESPACE="$NAMESPACE" test/e2e/checks.sh all

log "kind e2e passed"
