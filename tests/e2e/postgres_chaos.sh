#!/usr/bin/env bash
# chaos.sh on PostgreSQL (its own database on the HYDRATE_TEST_PG server).
E2E_BACKEND=postgres
# shellcheck source=chaos.sh
source "$(dirname "${BASH_SOURCE[0]}")/chaos.sh"
