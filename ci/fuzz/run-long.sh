#!/usr/bin/env bash
# Runs every fuzz target to 10 million executions (-runs=10000000) and prints
# per target its executions, executions per second and crashes (see run.sh,
# which it calls). At 1,000-3,000 executions per second that is one to three
# hours per target on one core; bound it with --seconds N (per target,
# whichever comes first) and record what was reached:
#
#     ci/fuzz/run-long.sh [--seconds N] [TARGET...]
set -euo pipefail
exec bash "$(dirname "$0")/run.sh" --runs "${FUZZ_RUNS:-10000000}" "$@"
