#!/usr/bin/env bash
# Submits the tuning array (tune.sbatch) and the merge (merge.sbatch) that waits for every task of it to succeed:
#   TRITUNE_HOME=path/to/tritune-0.1.0 bash examples/slurm/submit.sh
# RESULTS, TUNE_ARGS and VALIDATE_ARGS pass on to both (see tune.sbatch); partition, account and the like go in
# SBATCH_* variables or the #SBATCH lines.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${TRITUNE_HOME:?set TRITUNE_HOME to the unpacked tritune bundle}"
export TRITUNE_HOME
export RESULTS="${RESULTS:-$PWD/tritune-results}"

tune_job=$(sbatch --parsable "$here/tune.sbatch")
tune_job=${tune_job%%;*} # --parsable prints "id" or "id;cluster"
# afterok on an array waits for all its tasks; if one fails, the merge is cancelled instead of pending forever
merge_job=$(sbatch --parsable --dependency="afterok:$tune_job" --kill-on-invalid-dep=yes "$here/merge.sbatch")
echo "tuning: job array $tune_job; merge: job ${merge_job%%;*}, once every task has succeeded; results in $RESULTS"
