#!/usr/bin/env bash
# End-to-end on a real cluster with a kubelet: a kind cluster, the operator image built from the
# repository's Dockerfile, the Helm chart, the examples, and a promotion by policy.
#
#   test/e2e/kind.sh            # create the cluster, run, delete it
#   KEEP_CLUSTER=1 test/e2e/kind.sh   # leave it running to look around (kind delete cluster --name landlord-e2e)
#
# Needs docker, kind, kubectl and helm on PATH (helm: `npx landlord local build` prints the
# directory of the one the tests use). Not run by `npm test`: the development machines have no Docker.
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

log "Installing the chart into $NAMESPACE"
helm lint --strict charts/landlord
helm upgrade --install landlord charts/landlord \
  --namespace "$NAMESPACE" --create-namespace \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=Never \
  `# kind's admin (group kubeadm:cluster-admins, or system:masters before 1.29) plays the platform` \
  `# admin, approver and reporter: the examples pin tenants, set admins and report signals.` \
  --set-json 'admission.platformAdminGroups=["landlord-platform-admins","kubeadm:cluster-admins","system:masters"]' \
  --set-json 'admission.approverGroups=["landlord-approvers","kubeadm:cluster-admins","system:masters"]' \
  --set-json 'admission.reporters=[{"signals":["*"],"groups":["landlord-reporters","kubeadm:cluster-admins","system:masters"]}]' \
  --wait --timeout 5m
kubectl -n "$NAMESPACE" rollout status deployment/landlord --timeout=180s

log "Waiting for one replica to lead"
leader=""
for _ in $(seq 1 60); do
  leader="$(kubectl -n "$NAMESPACE" get lease landlord-leader -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true)"
  [ -n "$leader" ] && break
  sleep 2
done
[ -n "$leader" ] || die "no replica took the Lease landlord-leader within 2 minutes"
echo "leader: $leader"

log "Applying examples/"
kubectl apply -f examples/

wait_for() { # <description> <seconds> <command...>: polls the command until it succeeds
  local what="$1" seconds="$2"
  shift 2
  for _ in $(seq 1 "$seconds"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  die "timed out after ${seconds}s waiting for $what"
}
tier_is() { [ "$(kubectl get tp "$1" -o jsonpath='{.status.tier}/{.status.phase}')" = "$2/Active" ]; }

wait_for "acme to be pooled" 120 tier_is acme pooled
# globex's reported revenue is above the namespace threshold: its first placement is its own namespace.
wait_for "globex to be served from its namespace" 120 tier_is globex namespace
kubectl get namespace tenant-globex --show-labels

log "Promotion by policy: acme's revenue crosses the namespace threshold"
# The default policy holds a threshold for 24h before it promotes; shorten the window for the test.
kubectl patch ppol default --type=merge -p '{"spec":{"stabilization":{"promoteAfter":"0s","cooldown":"0s"}}}'
kubectl patch tp acme --type=merge --field-manager=billing -p '{"spec":{"reportedSignals":{"monthlyRevenueUSD":26000}}}'
wait_for "acme to be promoted to its namespace" 180 tier_is acme namespace
decision="$(kubectl get tp acme -o jsonpath='{.status.lastDecision}')"
trigger="$(kubectl get pdec "$decision" -o jsonpath='{.spec.from}->{.spec.to} {.spec.trigger} {.status.outcome}')"
echo "decision $decision: $trigger"
[ "$trigger" = "pooled->namespace Policy Succeeded" ] || die "expected decision $decision to be pooled->namespace Policy Succeeded, got: $trigger"

log "The namespace guard holds on a real cluster too"
kubectl create namespace e2e-foreign --dry-run=client -o yaml | kubectl apply -f -
if kubectl delete namespace e2e-foreign --as="system:serviceaccount:$NAMESPACE:landlord" 2>/tmp/landlord-e2e-guard; then
  die "the operator's ServiceAccount deleted a namespace Landlord does not manage"
fi
grep -q "is not managed by Landlord" /tmp/landlord-e2e-guard || die "unexpected denial: $(cat /tmp/landlord-e2e-guard)"
kubectl delete namespace e2e-foreign --wait=false

log "Metrics from the leader"
kubectl -n "$NAMESPACE" port-forward "pod/$leader" 18080:8080 >/dev/null 2>&1 &
forward=$!
wait_for "the metrics port-forward" 30 curl -sf http://127.0.0.1:18080/metrics
curl -s http://127.0.0.1:18080/metrics | grep -E '^landlord_(leader|tenants)'
kill "$forward"

log "kind e2e passed"
