#!/usr/bin/env bash
# zombie_worker.sh on PostgreSQL (its own database on the HYDRATE_TEST_PG server).
E2E_BACKEND=postgres
# shellcheck source=zombie_worker.sh
source "$(dirname "${BASH_SOURCE[0]}")/zombie_worker.sh"
