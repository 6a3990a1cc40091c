#!/usr/bin/env bash
# budget.sh on PostgreSQL (its own database on the HYDRATE_TEST_PG server).
E2E_BACKEND=postgres
# shellcheck source=budget.sh
source "$(dirname "${BASH_SOURCE[0]}")/budget.sh"
