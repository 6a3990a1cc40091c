#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Hostile model output, on PostgreSQL: the scenario of hostile_output.sh (lib/hostile.bash)
# against a database of its own on HYDRATE_TEST_PG, where a text that is not UTF-8 or holds NUL
# would not even be accepted by the server: the tree still succeeds and every stored text is clean.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/hostile.bash"
e2e_init postgres_hostile_output
pg_init

hostile_run
hostile_assert
