#!/usr/bin/env bash
# batch_budget.sh on PostgreSQL (its own database on the HYDRATE_TEST_PG server).
E2E_BACKEND=postgres
# shellcheck source=batch_budget.sh
source "$(dirname "${BASH_SOURCE[0]}")/batch_budget.sh"
