#!/usr/bin/env bash
# The periodic job: run the main job against a target, keep the run, update the history.
#
#   ci/periodic.sh TARGET RESULTS_ROOT
#
# Each run goes to RESULTS_ROOT/<UTC timestamp>/ (kept whatever the verdict), then
# RESULTS_ROOT/history.html is written again from every run there. The exit status is
# the sign-off report's (0 accepted, 1 not accepted, 3 not a verdict, 2 an error).
#
# Environment (all optional):
#   EXTREME_SUITES        suites to run, space-separated (default: suites = the main job)
#   EXTREME_PERIODIC_DRY  1 = dry run: `robot --dryrun` of the suites and the report, no
#                         cloud touched, no root needed (checks the job's plumbing)
#   EXTREME_PROCESSES ... passed on to ./run acceptance unchanged
# Credentials: the CI provides them (environment variables named by the target's *_env
# keys, clouds.yaml/secure.yaml through OS_CLIENT_CONFIG_FILE/OS_CLIENT_SECURE_FILE). This
# script never prints the environment or the target file and never runs with `set -x`.
set -uo pipefail
set +x
HERE=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "periodic.sh: $*" >&2; exit 2; }

[ $# -eq 2 ] || die "usage: ci/periodic.sh TARGET RESULTS_ROOT (got $# arguments)."
TARGET=$1
ROOT=$2
[ -f "$TARGET" ] && [ -r "$TARGET" ] || die "target file '$TARGET' is not a readable file: give the path the CI wrote the target secret to."
mkdir -p "$ROOT" 2>/dev/null && [ -w "$ROOT" ] || die "cannot write to RESULTS_ROOT '$ROOT': give a writable folder."
TARGET=$(cd "$(dirname "$TARGET")" && pwd)/$(basename "$TARGET")
ROOT=$(cd "$ROOT" && pwd)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUN="$ROOT/$STAMP"
n=1
while [ -e "$RUN" ]; do RUN="$ROOT/$STAMP-$n"; n=$((n + 1)); done
mkdir -p "$RUN"
SUITES=${EXTREME_SUITES:-suites}
echo "periodic: run $(basename "$RUN") against $(basename "$TARGET"), suites: $SUITES"

cd "$HERE" || die "cannot enter $HERE"
if [ "${EXTREME_PERIODIC_DRY:-0}" = 1 ]; then
  picks=()  # rooted at suites/ as ./run acceptance does: the same case names
  for pick in ${EXTREME_SUITES:-}; do picks+=(--parseinclude "$pick"); done
  EXTREME_TARGET="$TARGET" robot --dryrun --outputdir "$RUN" --pythonpath "$HERE/resources" \
    --console dotted "${picks[@]}" suites > "$RUN/job.log" 2>&1
  echo "periodic: dry run: robot exit $?"
  extreme report "$RUN/output.xml" --target "$TARGET" -o "$RUN/signoff.html" --log log.html \
    >> "$RUN/job.log" 2>&1
  status=$?
else
  EXTREME_TARGET="$TARGET" EXTREME_RESULTS="$RUN" EXTREME_SUITES="$SUITES" \
    "$HERE/run" acceptance > "$RUN/job.log" 2>&1
  status=$?
fi
tail -n 5 "$RUN/job.log"
echo "periodic: results kept in $RUN (report exit $status)"

if ! extreme history "$ROOT" -o "$ROOT/history.html" --target "$TARGET" > "$RUN/history.log" 2>&1; then
  cat "$RUN/history.log" >&2
  echo "periodic: the history page could not be written (see above)" >&2
  [ "$status" = 0 ] && status=2
else
  echo "periodic: history: $ROOT/history.html"
fi
exit "$status"
