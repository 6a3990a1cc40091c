#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Estimates calibrated on history, PostgreSQL: see lib/calibration.bash for the scenario.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/calibration.bash"
e2e_init postgres_calibration
pg_init

start_mock --latency-ms 5
calibration_scenario
