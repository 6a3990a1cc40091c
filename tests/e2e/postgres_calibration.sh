#!/usr/bin/env bash
# calibration.sh on PostgreSQL (its own database on the HYDRATE_TEST_PG server).
E2E_BACKEND=postgres
# shellcheck source=calibration.sh
source "$(dirname "${BASH_SOURCE[0]}")/calibration.sh"
