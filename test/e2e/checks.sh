#!/usr/bin/env bash
# The end-to-end checks of the Helm chart on a cluster with a kubelet, shared by test/e2e/kind.sh
# (kind + Docker) and test/e2e/node.test.ts (the local node of `landlord local up --node`).
#
#   test/e2e/checks.sh STEP...      # steps below, in order; "all" runs every one
#
# Needs kubectl and helm on PATH, KUBECONFIG pointing at the cluster, and the operator image
# already on the node as $IMAGE (repository:tag). The migration Job runs $JOB_IMAGE (default:
# the operator image, which has /bin/sh) with a script that checks the environment Landlord gives
# it. Lines "measure: NAME=VALUE" are figures the callers report. FREEZE_POD, when set, is a
# command run as `$FREEZE_POD freeze|kill NAMESPACE POD` that freezes every process of a pod (a
# hung leader) and later SIGKILLs them; the failover step then also measures a Lease expiry.
# ADMIN_GROUPS (a JSON list) are the groups given the chart's platform-admin, approver and reporter
# admission roles; by default those of the user kubectl acts as (kubectl auth whoami).
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE="${IMAGE:-landlord:dev}"
JOB_IMAGE="${JOB_IMAGE:-$IMAGE}"
NAMESPACE="${NAMESPACE:-landlord-system}"
RELEASE="${RELEASE:-landlord}"
LEASE="${LEASE:-landlord-leader}"
ALL_STEPS=(install leader examples promotion guard metrics failover migration migration-failure memory upgrade uninstall)

log() { printf '\n==> %s\n' "$*"; }
die() {
  printf 'checks.sh: %s\n' "$*" >&2
  # What the operator was doing: far more useful than "timed out".
  {
    printf '\n--- Lease holder: %s; tenants:\n' "$(holder)"
    kubectl get tp -o wide 2>/dev/null | head -30
    local pod
    for pod in $(kubectl -n "$NAMESPACE" get pods -l app.kubernetes.io/name=landlord -o name 2>/dev/null); do
      printf -- '--- %s (last 40 lines)\n' "$pod"
      kubectl -n "$NAMESPACE" logs "$pod" --tail=40 2>&1 | cut -c1-400
    done
  } >&2 || true
  exit 1
}
now_ms() { date +%s%3N; }
measure() { printf 'measure: %s=%s\n' "$1" "$2"; }

wait_for() { # <description> <seconds> <command...>: polls the command until it succeeds
  local what="$1" seconds="$2"
  shift 2
  local deadline=$(( $(date +%s) + seconds ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  die "timed out after ${seconds}s waiting for $what"
}
tier_is() { [ "$(kubectl get tp "$1" -o jsonpath='{.status.tier}/{.status.phase}')" = "$2/Active" ]; }
phase_is() { [ "$(kubectl get tp "$1" -o jsonpath='{.status.phase}')" = "$2" ]; }
holder() { kubectl -n "$NAMESPACE" get lease "$LEASE" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true; }
ready_pods() { kubectl -n "$NAMESPACE" get pods -l app.kubernetes.io/name=landlord -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{" "}{.metadata.deletionTimestamp}{"\n"}{end}' | awk '$2 == "True" && $3 == "" { print $1 }'; }
ready_count_is() { [ "$(ready_pods | wc -l)" -eq "$1" ]; }
holder_is_ready_pod() { local h; h="$(holder)"; [ -n "$h" ] && ready_pods | grep -qx "$h"; }

admin_groups() { # the groups of the user kubectl acts as (a JSON list), unless ADMIN_GROUPS names them
  if [ -n "${ADMIN_GROUPS:-}" ]; then echo "$ADMIN_GROUPS"; return; fi
  # Every authenticated user is in system:authenticated: giving it the roles would give them to all.
  kubectl auth whoami -o jsonpath='{.status.userInfo.groups}' |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s||"[]").filter(g=>g!=="system:authenticated"))))'
}

step_install() {
  log "Installing the chart into $NAMESPACE with $IMAGE"
  helm lint --strict charts/landlord
  # The chart's admission policies let only named groups set spec.tier/pool/policyRef, approve and
  # report signals; the steps below do all of that as the cluster's admin, so its groups get those
  # roles (the local node's admin certificate says system:masters, kind's kubeadm:cluster-admins).
  local groups; groups="$(admin_groups)"
  [ "$groups" != "[]" ] || die "the admin kubectl uses is in no group but system:authenticated; set ADMIN_GROUPS"
  echo "admission roles for the groups $groups"
  local started; started=$(now_ms)
  helm upgrade --install "$RELEASE" charts/landlord \
    --namespace "$NAMESPACE" --create-namespace \
    --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=IfNotPresent \
    --set-json "admission.platformAdminGroups=$groups" --set-json "admission.approverGroups=$groups" \
    --set-json "admission.reporters=[{\"signals\":[\"*\"],\"serviceAccounts\":[],\"users\":[],\"groups\":$groups}]" \
    --wait --timeout 5m
  kubectl -n "$NAMESPACE" rollout status deployment/"$RELEASE" --timeout=180s
  wait_for "both replicas Ready" 120 ready_count_is 2
  measure install_to_ready_seconds "$(( ($(now_ms) - started) / 1000 ))"
  # Each pod from creation to Ready, as the kubelet recorded it.
  kubectl -n "$NAMESPACE" get pods -l app.kubernetes.io/name=landlord \
    -o jsonpath='{range .items[*]}{.metadata.creationTimestamp}{" "}{.status.conditions[?(@.type=="Ready")].lastTransitionTime}{"\n"}{end}' |
    while read -r created ready; do measure pod_to_ready_seconds "$(( $(date -d "$ready" +%s) - $(date -d "$created" +%s) ))"; done
  # What the chart promises about the pod, as the kubelet runs it.
  local pod; pod="$(ready_pods | head -1)"
  [ "$(kubectl -n "$NAMESPACE" get pod "$pod" -o jsonpath='{.spec.containers[0].securityContext.readOnlyRootFilesystem}')" = "true" ] || die "$pod: root filesystem not read-only"
  [ "$(kubectl -n "$NAMESPACE" get pod "$pod" -o jsonpath='{.spec.securityContext.seccompProfile.type}')" = "RuntimeDefault" ] || die "$pod: no RuntimeDefault seccomp profile"
  [ "$(kubectl -n "$NAMESPACE" get pod "$pod" -o jsonpath='{.spec.securityContext.runAsUser}')" = "1000" ] || die "$pod: not uid 1000"
}

step_leader() {
  log "One replica holds the Lease $LEASE"
  wait_for "a Ready replica to hold the Lease $LEASE" 120 holder_is_ready_pod
  echo "leader: $(holder)"
}

tenants_yaml() { # <include|exclude> <name>: examples/tenants.yaml with or without one tenant's document
  node -e 'const [mode, name] = process.argv.slice(1);
    const docs = require("fs").readFileSync("examples/tenants.yaml", "utf8").split(/^---$/m);
    const mine = (d) => new RegExp(`^kind: TenantPlacement\\n(.*\\n)*?  name: ${name}$`, "m").test(d);
    const picked = docs.filter((d) => mine(d) === (mode === "include"));
    if (mode === "include" && picked.length !== 1) { console.error(`no single tenant ${name} in examples/tenants.yaml`); process.exit(1); }
    process.stdout.write(picked.join("---"));' "$1" "$2"
}
placed() { [ -n "$(kubectl get tp "$1" -o jsonpath='{.status.tier}')" ]; }
all_placed_but() { # <name>: every tenant of examples/tenants.yaml except that one has a tier
  local t
  for t in $(tenants_yaml exclude "$1" | kubectl get -f - -o name); do placed "${t#*/}" || return 1; done
}

step_examples() {
  log "Applying examples/"
  # acme's requestsPerDay counts as a share of its pool's requests (5% or more: its own namespace).
  # The operator judges a new tenant against the pool members it has seen so far, so acme, the first
  # document of tenants.yaml, applied to a running operator together with the rest is sometimes judged
  # alone (100% of the pool) and lands in a namespace (2 of 8 runs; README: "What is and is not tested
  # here"). Here acme comes last, once the others are placed, so its share is the pool's real one.
  kubectl apply -f examples/policy-default.yaml -f examples/pool-standard.yaml
  tenants_yaml exclude acme | kubectl apply -f -
  wait_for "the example tenants but acme to be placed" 180 all_placed_but acme
  tenants_yaml include acme | kubectl apply -f -
  wait_for "acme to be pooled" 120 tier_is acme pooled
  # globex's reported revenue is above the namespace threshold: its first placement is its own namespace.
  wait_for "globex to be served from its namespace" 120 tier_is globex namespace
  wait_for "soylent to be served from its (planned) database" 120 tier_is soylent database
  kubectl get namespace tenant-globex --show-labels
}

promote_by_revenue() { # <tenant>: its revenue crosses the namespace threshold; the decision must say so
  local tenant="$1"
  kubectl patch tp "$tenant" --type=merge --field-manager=billing -p '{"spec":{"reportedSignals":{"monthlyRevenueUSD":26000}}}'
  wait_for "$tenant to be promoted to its namespace" 180 tier_is "$tenant" namespace
  local decision trigger
  decision="$(kubectl get tp "$tenant" -o jsonpath='{.status.lastDecision}')"
  trigger="$(kubectl get pdec "$decision" -o jsonpath='{.spec.from}->{.spec.to} {.spec.trigger} {.status.outcome}')"
  echo "decision $decision: $trigger"
  [ "$trigger" = "pooled->namespace Policy Succeeded" ] || die "expected decision $decision to be pooled->namespace Policy Succeeded, got: $trigger"
}

step_promotion() {
  log "Promotion by policy: acme's revenue crosses the namespace threshold"
  # The default policy holds a threshold for 24h before it promotes; shorten the window for the test.
  kubectl patch ppol default --type=merge -p '{"spec":{"stabilization":{"promoteAfter":"0s","cooldown":"0s"}}}'
  promote_by_revenue acme
}

step_guard() {
  log "The namespace guard holds on a real cluster too"
  kubectl create namespace e2e-foreign --dry-run=client -o yaml | kubectl apply -f -
  local out
  if out="$(kubectl delete namespace e2e-foreign --as="system:serviceaccount:$NAMESPACE:$RELEASE" 2>&1)"; then
    die "the operator's ServiceAccount deleted a namespace Landlord does not manage"
  fi
  grep -q "is not managed by Landlord" <<<"$out" || die "unexpected denial: $out"
  kubectl delete namespace e2e-foreign --wait=false
}

step_metrics() {
  log "Metrics from the leader (through the API server's pod proxy)"
  local leader body
  leader="$(holder)"
  body="$(kubectl get --raw "/api/v1/namespaces/$NAMESPACE/pods/$leader:8080/proxy/metrics")"
  grep -E '^landlord_(leader|tenants)' <<<"$body" | head -20
  grep -qE '^landlord_leader 1$' <<<"$body" || die "the leader's metrics do not say it leads"
}

new_leader_than() { local h; h="$(holder)"; [ -n "$h" ] && [ "$h" != "$1" ] && ready_pods | grep -qx "$h"; }

step_failover() {
  log "Leader failover with real pods"
  local old started
  if [ -n "${FREEZE_POD:-}" ]; then
    # The leader hangs (all its processes frozen): no SIGTERM, no hand-over, its renewals stop and
    # the standby takes the Lease once it expires. Then it is SIGKILLed (the kubelet restarts it).
    old="$(holder)"
    [ -n "$old" ] || die "nobody holds the Lease"
    started=$(now_ms)
    "$FREEZE_POD" freeze "$NAMESPACE" "$old"
    wait_for "another replica to take the Lease from the frozen $old" 120 new_leader_than "$old"
    measure failover_expiry_seconds "$(( ($(now_ms) - started) / 1000 ))"
    echo "leader: $old (frozen) -> $(holder)"
    "$FREEZE_POD" kill "$NAMESPACE" "$old"
    wait_for "the Deployment to be back at two Ready replicas" 180 ready_count_is 2
  fi
  # The leader pod is deleted without grace: the kubelet stops its container at once and the
  # leader, on SIGTERM, hands the Lease over.
  old="$(holder)"
  [ -n "$old" ] || die "nobody holds the Lease"
  started=$(now_ms)
  kubectl -n "$NAMESPACE" delete pod "$old" --grace-period=0 --force --wait=false
  wait_for "another replica to take the Lease from $old" 120 new_leader_than "$old"
  measure failover_handover_seconds "$(( ($(now_ms) - started) / 1000 ))"
  echo "leader: $old (deleted) -> $(holder)"
  # The new leader works: a promotion still happens.
  promote_by_revenue wayne
  wait_for "the Deployment to be back at two Ready replicas" 180 ready_count_is 2
}

# A policy with a migration Job between provisioning and cut-over. The Job's script
# (test/e2e/migrate-check.sh, shared with the integration tests) checks what Landlord promises a
# migration (the move's facts in its environment, the target's endpoint) and fails on purpose for
# tenants named *-fail.
MIGRATION_POLICY="$(cat <<EOF
apiVersion: landlord.dev/v1alpha1
kind: PlacementPolicy
metadata: {name: e2e-migrate}
spec:
  signals: [{name: monthlyRevenueUSD, source: {reported: {}}}]
  tiers:
    - {tier: namespace, promoteWhen: {any: [{signal: monthlyRevenueUSD, gte: 20000}]}}
    - tier: database
      promoteWhen: {any: [{signal: monthlyRevenueUSD, gte: 50000}]}
      database: {engine: postgres, instanceClass: db.t4g.medium, allocatedStorageGB: 20}
  stabilization: {promoteAfter: 0s, demoteAfter: 0s, cooldown: 0s}
  rateLimit: {maxConcurrentMoves: 10, maxMovesPerHour: 100}
  migration:
    jobTemplate:
      spec:
        backoffLimit: 0
        template:
          spec:
            restartPolicy: Never
            securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
            containers:
              - name: migrate
                image: $JOB_IMAGE
                imagePullPolicy: IfNotPresent
                command: [/bin/sh, -c]
                args:
                  - |
$(sed -e '/^#/d' -e 's/^/                    /' test/e2e/migrate-check.sh)
                securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
EOF
)"

migration_tenant() { # <name> <revenue>
  kubectl apply -f - <<EOF
apiVersion: landlord.dev/v1alpha1
kind: TenantPlacement
metadata: {name: $1}
spec: {tenantId: $1, costCenter: cc-e2e, pool: standard, policyRef: e2e-migrate, reportedSignals: {monthlyRevenueUSD: $2}}
EOF
}

job_has() { [ -n "$(kubectl -n "tenant-$1" get job "$2" -o jsonpath="{.status.conditions[?(@.type==\"$3\")].status}" 2>/dev/null | grep True)" ]; }

step_migration() {
  log "A migration Job really runs in a pod: pooled -> database"
  kubectl apply -f - <<<"$MIGRATION_POLICY"
  migration_tenant e2e-mover 1000
  wait_for "e2e-mover to be pooled" 120 tier_is e2e-mover pooled
  local started; started=$(now_ms)
  kubectl patch tp e2e-mover --type=merge --field-manager=billing -p '{"spec":{"reportedSignals":{"monthlyRevenueUSD":60000}}}'
  wait_for "e2e-mover to be served from its database" 180 tier_is e2e-mover database
  measure migration_move_seconds "$(( ($(now_ms) - started) / 1000 ))"
  local job steps
  job="$(kubectl -n tenant-e2e-mover get jobs -l landlord.dev/tenant=e2e-mover -o jsonpath='{.items[0].metadata.name}')"
  steps="$(kubectl get pdec "$(kubectl get tp e2e-mover -o jsonpath='{.status.lastDecision}')" -o jsonpath='{.status.steps[*].name}')"
  [ "$steps" = "Provisioning Migrating CutOver" ] || die "expected the move's steps Provisioning Migrating CutOver, got: $steps"
  job_has e2e-mover "$job" Complete || die "job $job is not Complete"
  # It ran under the constraints Landlord promises (Pod Security restricted enforced by the API
  # server in the tenant namespace, no ServiceAccount token unless the policy names an account).
  local enforce; enforce="$(kubectl get namespace tenant-e2e-mover -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}')"
  [ "$enforce" = restricted ] || die "tenant-e2e-mover enforces Pod Security '$enforce', not restricted"
  local account; account="$(kubectl -n tenant-e2e-mover get job "$job" -o jsonpath='{.spec.template.spec.serviceAccountName}/{.spec.template.spec.automountServiceAccountToken}')"
  [ "$account" = default/false ] || die "job $job runs as ServiceAccount/automount $account, expected default/false"
  local logs; logs="$(kubectl -n tenant-e2e-mover logs "job/$job")"
  echo "$logs"
  grep -q "^migrated$" <<<"$logs" || die "the migration Job's pod did not finish its script"
}

step_migration-failure() {
  log "A failing migration Job leaves the tenant served where it was"
  migration_tenant e2e-mover-fail 1000
  wait_for "e2e-mover-fail to be pooled" 120 tier_is e2e-mover-fail pooled
  kubectl patch tp e2e-mover-fail --type=merge --field-manager=billing -p '{"spec":{"reportedSignals":{"monthlyRevenueUSD":60000}}}'
  wait_for "e2e-mover-fail's move to fail" 180 phase_is e2e-mover-fail Failed
  [ "$(kubectl get tp e2e-mover-fail -o jsonpath='{.status.tier}')" = pooled ] || die "e2e-mover-fail left the pool although its migration failed"
  local reason; reason="$(kubectl get tp e2e-mover-fail -o jsonpath='{.status.conditions[?(@.type=="Degraded")].reason}')"
  [ "$reason" = MigrationFailed ] || die "expected Degraded MigrationFailed, got $reason"
  local job; job="$(kubectl -n tenant-e2e-mover-fail get jobs -l landlord.dev/tenant=e2e-mover-fail -o jsonpath='{.items[0].metadata.name}')"
  job_has e2e-mover-fail "$job" Failed || die "job $job did not fail"
  kubectl -n tenant-e2e-mover-fail logs "job/$job" | grep -q "relation orders is locked" || die "the failing Job's pod did not run its script"
}

pods_memory() { # one "measure:" line per operator pod, from the kubelet's stats; fails while one has none yet
  local node
  for node in $(kubectl get pods -n "$NAMESPACE" -l app.kubernetes.io/name=landlord -o jsonpath='{.items[*].spec.nodeName}' | tr ' ' '\n' | sort -u); do
    kubectl get --raw "/api/v1/nodes/$node/proxy/stats/summary" |
      node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let ok=true;for(const p of JSON.parse(s).pods){if(p.podRef.namespace!==process.argv[1])continue;const mib=Math.round((p.memory?.workingSetBytes??0)/1048576);ok&&=mib>0;console.log(`measure: pod_working_set_mib=${mib} (${p.podRef.name})`)}process.exit(ok?0:1)})' "$NAMESPACE"
  done
}

step_memory() {
  log "The operator pods' memory, from the kubelet's summary"
  wait_for "the kubelet's memory figures of every operator pod" 90 pods_memory
  pods_memory
  kubectl -n "$NAMESPACE" get deployment "$RELEASE" -o jsonpath='limits: {.spec.template.spec.containers[0].resources}{"\n"}'
}

step_upgrade() {
  log "helm upgrade with changed values rolls out"
  local before; before="$(kubectl -n "$NAMESPACE" get pods -l app.kubernetes.io/name=landlord -o jsonpath='{.items[*].metadata.name}')"
  local started; started=$(now_ms)
  helm upgrade "$RELEASE" charts/landlord --namespace "$NAMESPACE" --reuse-values \
    --set operator.logLevel=debug --set operator.concurrency=4 --wait --timeout 5m
  kubectl -n "$NAMESPACE" rollout status deployment/"$RELEASE" --timeout=180s
  wait_for "two Ready replicas after the upgrade" 120 ready_count_is 2
  measure upgrade_rollout_seconds "$(( ($(now_ms) - started) / 1000 ))"
  local args; args="$(kubectl -n "$NAMESPACE" get deployment "$RELEASE" -o jsonpath='{.spec.template.spec.containers[0].args}')"
  grep -q -- "--log-level=debug" <<<"$args" && grep -q -- "--concurrency=4" <<<"$args" || die "the upgrade did not change the operator's flags: $args"
  local pod
  for pod in $(ready_pods); do
    if grep -qw "$pod" <<<"$before"; then die "pod $pod from before the upgrade is still serving"; fi
  done
  wait_for "a new replica to hold the Lease" 120 holder_is_ready_pod
}

RELEASE_KINDS="deployments,replicasets,pods,services,serviceaccounts,roles,rolebindings,configmaps,secrets,leases,poddisruptionbudgets"
RELEASE_CLUSTER_KINDS="clusterroles,clusterrolebindings,validatingadmissionpolicies,validatingadmissionpolicybindings,mutatingadmissionpolicies,mutatingadmissionpolicybindings"

step_uninstall() {
  log "helm uninstall after the tenants are deleted leaves nothing of Landlord's behind"
  # A pool is not deleted from under its tenants: deleted first, it waits for them (Ready=False,
  # reason Deleting) and they stay served; once they are gone its shard namespaces go with it.
  local seated shard
  read -r seated shard < <(kubectl get tp -o jsonpath='{range .items[?(@.status.pool=="standard")]}{.metadata.name}{" "}{.status.namespace}{"\n"}{end}' | head -1) || true
  [ -n "$seated" ] && [ -n "$shard" ] || die "no tenant is served from the pool standard before it is deleted"
  kubectl delete tpool --all --wait=false
  pool_waits() { [ "$(kubectl get tpool standard -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}')" = Deleting ]; }
  wait_for "the pool standard to wait for its tenants" 60 pool_waits
  echo "pool standard: $(kubectl get tpool standard -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}')"
  [ "$(kubectl get tp "$seated" -o jsonpath='{.status.pool}')" = standard ] || die "$seated is no longer served from the pool standard although the pool waits for it"
  [ -z "$(kubectl get namespace "$shard" -o jsonpath='{.metadata.deletionTimestamp}')" ] || die "$seated's shard $shard is being deleted while the pool waits for it"
  kubectl delete tp --all --wait --timeout=180s
  kubectl wait --for=delete tpool --all --timeout=120s
  no_pool_namespaces() { [ -z "$(kubectl get namespaces -l landlord.dev/managed-by=landlord,landlord.dev/pool -o name)" ]; }
  wait_for "the deleted pools' shard namespaces to be gone" 120 no_pool_namespaces
  kubectl delete ppol --all --wait --timeout=60s
  no_tenant_namespaces() { [ -z "$(kubectl get namespaces -l landlord.dev/managed-by=landlord,landlord.dev/tenant -o name)" ]; }
  wait_for "every tenant namespace to be gone" 180 no_tenant_namespaces
  local manifest; manifest="$(helm get manifest "$RELEASE" --namespace "$NAMESPACE")"
  helm uninstall "$RELEASE" --namespace "$NAMESPACE" --wait --timeout 3m || {
    # What helm was still waiting for: the release's objects that are not gone, with what holds them.
    kubectl get -f - --ignore-not-found -o custom-columns='OBJECT:.kind,NS:.metadata.namespace,NAME:.metadata.name,CREATED:.metadata.creationTimestamp,DELETING:.metadata.deletionTimestamp,FINALIZERS:.metadata.finalizers' <<<"$manifest" 2>&1 || true
    kubectl get "$RELEASE_KINDS" -n "$NAMESPACE" -l app.kubernetes.io/instance="$RELEASE" \
      -o custom-columns='OBJECT:.kind,NAME:.metadata.name,DELETING:.metadata.deletionTimestamp,FINALIZERS:.metadata.finalizers' 2>&1 || true
    kubectl get "$RELEASE_CLUSTER_KINDS" -l app.kubernetes.io/instance="$RELEASE" \
      -o custom-columns='OBJECT:.kind,NAME:.metadata.name,DELETING:.metadata.deletionTimestamp,FINALIZERS:.metadata.finalizers' 2>&1 || true
    kubectl get pods -n "$NAMESPACE" -o wide 2>&1 || true
    die "helm uninstall did not finish in 3m"
  }
  # The replicas finish their graceful shutdown (the leader hands its Lease back) after helm returns.
  no_operator_pods() { [ -z "$(kubectl get pods -n "$NAMESPACE" -l app.kubernetes.io/name=landlord -o name)" ]; }
  wait_for "the operator's pods to be gone" 120 no_operator_pods
  local left
  left="$(kubectl get "$RELEASE_KINDS" -n "$NAMESPACE" -l app.kubernetes.io/instance="$RELEASE" -o name 2>/dev/null)"
  [ -z "$left" ] || die "left in $NAMESPACE after uninstall: $left"
  left="$(kubectl get "$RELEASE_CLUSTER_KINDS" -l app.kubernetes.io/instance="$RELEASE" -o name 2>/dev/null)"
  [ -z "$left" ] || die "cluster-wide objects left after uninstall: $left"
  # By name too: an object recreated after helm deleted it carries none of the chart's labels.
  left="$(kubectl get -f - --ignore-not-found -o name <<<"$manifest" 2>/dev/null)"
  [ -z "$left" ] || die "objects of the release's manifest left after uninstall: $left"
  left="$(kubectl get tenantplacements,tenantpools,placementpolicies -A -o name 2>/dev/null)"
  [ -z "$left" ] || die "Landlord objects left after uninstall: $left"
  # What the operator created or wrote itself: namespaces (tenants' and shards') and the Lease.
  left="$(kubectl get namespaces -l landlord.dev/managed-by=landlord -o name)"
  [ -z "$left" ] || die "namespaces of Landlord's left after uninstall: $left"
  left="$(kubectl -n "$NAMESPACE" get lease "$LEASE" -o name --ignore-not-found)"
  [ -z "$left" ] || die "the leader Lease outlived helm uninstall: $left"
  # Kept on purpose: the CRDs (Helm never deletes what it installed from crds/, so an uninstall
  # cannot delete every tenant's record) and with them the audit trail, PlacementDecisions, which
  # are immutable history that outlives its tenants; `kubectl delete crd` removes both.
  echo "kept: $(kubectl get crds -o name | grep -c landlord.dev) CRDs, $(kubectl get pdec -o name | wc -l) PlacementDecisions"
}

steps=("$@")
[ "${#steps[@]}" -eq 0 ] && die "name the steps to run (or all): ${ALL_STEPS[*]}"
[ "${steps[0]}" = all ] && steps=("${ALL_STEPS[@]}")
for step in "${steps[@]}"; do
  declare -F "step_$step" >/dev/null || die "no step $step; steps: ${ALL_STEPS[*]}"
  "step_$step"
done
