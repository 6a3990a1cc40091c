#!/usr/bin/env bash
# batch_faults.sh on PostgreSQL (its own database on the HYDRATE_TEST_PG server).
E2E_BACKEND=postgres
# shellcheck source=batch_faults.sh
source "$(dirname "${BASH_SOURCE[0]}")/batch_faults.sh"
