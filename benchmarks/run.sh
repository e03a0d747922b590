#!/usr/bin/env bash
# `make bench`: dbkit against its floors, on throwaway PostgreSQL servers.
#
#   benchmarks/run.sh [ARGS]            dbkit migrate vs psql on the schema corpus (bench_migrate.py)
#   benchmarks/run.sh app [ARGS]        the same on the application-history corpus (--corpus app)
#   benchmarks/run.sh lint [ARGS]       dbkit lint of this repository, cold and warm (bench_lint.py)
#   benchmarks/run.sh bigfile [ARGS]    a 50 MB data migration: time and peak RSS (bench_bigfile.py)
#   benchmarks/run.sh all               all four, one after the other
#
# Extra arguments go to the script (e.g. --runs 3, --json, --fast-server).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${here}/../.venv/bin/python"
if [[ ! -x "${python}" ]]; then
    echo "no .venv: run 'make install' first" >&2
    exit 1
fi
unset PYTHONDONTWRITEBYTECODE
case "${1:-}" in
    app) shift; exec "${python}" "${here}/bench_migrate.py" --corpus app "$@" ;;
    lint) shift; exec "${python}" "${here}/bench_lint.py" "$@" ;;
    bigfile) shift; exec "${python}" "${here}/bench_bigfile.py" "$@" ;;
    all)
        shift
        "${python}" "${here}/bench_migrate.py" "$@"
        "${python}" "${here}/bench_migrate.py" --corpus app "$@"
        "${python}" "${here}/bench_lint.py"
        exec "${python}" "${here}/bench_bigfile.py"
        ;;
    *) exec "${python}" "${here}/bench_migrate.py" "$@" ;;
esac
