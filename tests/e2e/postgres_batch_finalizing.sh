#!/usr/bin/env bash
# batch_finalizing.sh on PostgreSQL (its own database on the HYDRATE_TEST_PG server).
E2E_BACKEND=postgres
# shellcheck source=batch_finalizing.sh
source "$(dirname "${BASH_SOURCE[0]}")/batch_finalizing.sh"
