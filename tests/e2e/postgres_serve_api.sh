#!/usr/bin/env bash
# serve_api.sh on PostgreSQL (its own database on the HYDRATE_TEST_PG server).
E2E_BACKEND=postgres
# shellcheck source=serve_api.sh
source "$(dirname "${BASH_SOURCE[0]}")/serve_api.sh"
