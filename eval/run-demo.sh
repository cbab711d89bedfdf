#!/usr/bin/env bash
# Scores the built-in engine on the demo database's question sets (see eval/README.md): the six it may be tuned on,
# then the held-out set.
#
#   eval/run-demo.sh [extra `datagenie eval` arguments, e.g. --format json or --report-dir DIR]
#
# DATAGENIE: the binary to run (default: target/release/datagenie; building it is the caller's job).
# With --report-dir DIR, each set's per-question report is written to DIR/<set>.report.json.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${DATAGENIE:-$root/target/release/datagenie}"
if [[ ! -x "$bin" ]]; then
    echo "run-demo.sh: no datagenie binary at $bin (cargo build --release -p datagenie, or set DATAGENIE)" >&2
    exit 2
fi

report_dir=""
extra=()
while (($#)); do
    case "$1" in
        --report-dir)
            report_dir="${2:?--report-dir needs a directory}"
            shift 2
            ;;
        *)
            extra+=("$1")
            shift
            ;;
    esac
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# An isolated environment: its own home, config, data and cache directories, no configured LLM or database. The
# demo database is built into the data directory (deterministically: the same rows on every machine).
isolated() {
    env -i PATH="$PATH" HOME="$work/home" XDG_CONFIG_HOME="$work/config" \
        DATAGENIE_PATHS__DATA_DIR="$work/data" DATAGENIE_PATHS__CACHE_DIR="$work/cache" "$@"
}

isolated "$bin" demo --format json >"$work/demo.out" 2>"$work/demo.err" || {
    echo "run-demo.sh: building the demo database failed:" >&2
    cat "$work/demo.err" >&2
    exit 1
}
mkdir -p "$work/dbs/demo-retail"
cp "$work/data/demo-retail.sqlite" "$work/dbs/demo-retail/demo-retail.sqlite"

status=0
for set in demo-questions demo-dev demo-dev2 demo-dev3 demo-dev4 demo-dev5 demo-holdout; do
    echo "== eval/$set.json"
    args=(eval --questions "$root/eval/$set.json" --db-dir "$work/dbs" --provider builtin --today 2026-01-01)
    if [[ -n "$report_dir" ]]; then
        mkdir -p "$report_dir"
        args+=(--report "$report_dir/$set.report.json")
    fi
    isolated "$bin" "${args[@]}" ${extra[@]+"${extra[@]}"} || status=$?
done
exit "$status"
