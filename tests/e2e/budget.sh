#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Budgets on SQLite: see lib/budget.bash for the scenario.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/budget.bash"
e2e_init budget

start_mock --latency-ms 30
budget_scenario
