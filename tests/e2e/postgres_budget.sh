#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Budgets on PostgreSQL, two workers sharing the tree: see lib/budget.bash for the scenario.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/budget.bash"
e2e_init postgres_budget
pg_init

start_mock --latency-ms 30
budget_scenario
