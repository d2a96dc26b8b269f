#!/usr/bin/env bash
# FREEZE_POD for test/e2e/checks.sh on the local node, through the node's own containerd
# (CONTAINERD_SOCKET): `freeze NS POD` pauses every container of the pod (cgroup freezer: a hung
# process), `kill NS POD` SIGKILLs them and thaws them so they die (the kubelet restarts them).
set -euo pipefail
action="$1" namespace="$2" pod="$3"
c() { ctr --address "$CONTAINERD_SOCKET" -n k8s.io "$@"; }
ids="$(c containers ls -q "labels.\"io.kubernetes.pod.namespace\"==$namespace,labels.\"io.kubernetes.pod.name\"==$pod,labels.\"io.cri-containerd.kind\"==container")"
# Only containers with a live task: a restarted container leaves its exited predecessor listed.
running="$(c tasks ls | awk '$3 == "RUNNING" || $3 == "PAUSED" { print $1 }')"
ids="$(grep -Fxf <(printf '%s\n' "$running") <<<"$ids" || true)"
[ -n "$ids" ] || { echo "freeze-pod-local.sh: no running container of $namespace/$pod" >&2; exit 1; }
for id in $ids; do
  case "$action" in
    freeze) c tasks pause "$id" ;;
    kill) c tasks kill --signal SIGKILL "$id" 2>/dev/null || true; c tasks resume "$id" 2>/dev/null || true ;;
    *) echo "freeze-pod-local.sh: freeze or kill, not $action" >&2; exit 2 ;;
  esac
done
