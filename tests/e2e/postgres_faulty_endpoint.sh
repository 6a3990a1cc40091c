#!/usr/bin/env bash
# faulty_endpoint.sh on PostgreSQL (its own database on the HYDRATE_TEST_PG server).
E2E_BACKEND=postgres
# shellcheck source=faulty_endpoint.sh
source "$(dirname "${BASH_SOURCE[0]}")/faulty_endpoint.sh"
