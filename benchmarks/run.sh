#!/usr/bin/env bash
# `make bench`: dbkit migrate vs the psql floor, on a throwaway PostgreSQL server.
# Extra arguments go to bench_migrate.py (e.g. --runs 3, --json, --fast-server).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${here}/../.venv/bin/python"
if [[ ! -x "${python}" ]]; then
    echo "no .venv: run 'make install' first" >&2
    exit 1
fi
exec "${python}" "${here}/bench_migrate.py" "$@"
