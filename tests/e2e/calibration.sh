#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Estimates calibrated on history, SQLite: see lib/calibration.bash for the scenario.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/calibration.bash"
e2e_init calibration

start_mock --latency-ms 5
calibration_scenario
