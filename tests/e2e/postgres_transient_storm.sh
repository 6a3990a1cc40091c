#!/usr/bin/env bash
# transient_storm.sh on PostgreSQL (its own database on the HYDRATE_TEST_PG server).
E2E_BACKEND=postgres
# shellcheck source=transient_storm.sh
source "$(dirname "${BASH_SOURCE[0]}")/transient_storm.sh"
