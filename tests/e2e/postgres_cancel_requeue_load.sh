#!/usr/bin/env bash
# cancel_requeue_load.sh on PostgreSQL (its own database on the HYDRATE_TEST_PG server).
E2E_BACKEND=postgres
# shellcheck source=cancel_requeue_load.sh
source "$(dirname "${BASH_SOURCE[0]}")/cancel_requeue_load.sh"
