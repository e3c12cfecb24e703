#!/usr/bin/env bash
# Tunes on a Kubernetes cluster: the results volume, the tuning Job (one pod per shard), the merge Job once the
# tuning Job has completed, then copies the merged files to ./merged (in the current folder). Edit the image and
# TUNE_ARGS in tune-job.yaml first (docs/TUNE.md, "Kubernetes").
set -euo pipefail
here=$(dirname "$0")

# Waits until a Job has completed (0) or failed (1); `kubectl wait --for=condition=complete` alone would wait
# out its timeout on a failed Job.
wait_job() {
  local state
  while :; do
    state=$(kubectl get "job/$1" -o 'jsonpath={.status.conditions[?(@.status=="True")].type}')
    case " $state " in
      *" Complete "*) return 0 ;;
      *" Failed "*) echo "job $1 failed; see: kubectl describe job/$1, kubectl logs job/$1" >&2; return 1 ;;
    esac
    sleep 30
  done
}

kubectl apply -f "$here/results-pvc.yaml"
kubectl apply -f "$here/tune-job.yaml"
wait_job tritune-tune
kubectl apply -f "$here/merge-job.yaml"
wait_job tritune-merge
kubectl logs job/tritune-merge
kubectl apply -f "$here/results-pod.yaml"
kubectl wait --for=condition=Ready pod/tritune-results --timeout=10m
kubectl cp tritune-results:/results/merged ./merged
kubectl delete -f "$here/results-pod.yaml"
echo "merged files in ./merged; what changed against tuned-configs/: tune diff tuned-configs merged"
