#!/usr/bin/env bash
# batch_queue.sh on PostgreSQL (its own database on the HYDRATE_TEST_PG server).
E2E_BACKEND=postgres
# shellcheck source=batch_queue.sh
source "$(dirname "${BASH_SOURCE[0]}")/batch_queue.sh"
