#!/usr/bin/env bash
# Runs each fuzz target (cargo fuzz, libFuzzer) for a bounded time and prints, per target,
# the executions done and whether it found a crash. Needs the nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`). Usage: bench/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
dir=tests/fuzz
cargo +nightly fuzz build --fuzz-dir "$dir" -O >/dev/null
status=0
for target in policy_load shell_analyze log_verify; do
    mkdir -p "$dir/corpus/$target"
    # Seeds: the shipped policies, the command corpus, and a real audit log.
    case $target in
        policy_load) cp policies/*.yaml tests/fixtures/*/*.yaml "$dir/corpus/$target/" ;;
        shell_analyze) grep -v '^#' tests/data/corpus.txt | cut -f2 | split -l 1 - "$dir/corpus/$target/line-" ;;
        log_verify)
            # A real log with a decision, an exec and an exit, from a throw-away run.
            seed=$(mktemp -d)
            cargo build --quiet
            XDG_STATE_HOME="$seed" HOME="$seed" ./target/debug/gatekeep run --log "$seed/seed.jsonl" -- true
            cp "$seed/seed.jsonl" "$dir/corpus/$target/"
            rm -rf "$seed" ;;
    esac
    log=$(mktemp)
    if cargo +nightly fuzz run --fuzz-dir "$dir" -O "$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        result="no crash"
    else
        result="CRASH: see $dir/artifacts/$target/"
        grep -E 'ERROR|SUMMARY|panicked|Test unit written' "$log" | head -5 >&2
        status=1
    fi
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    printf '%-14s %4ss  %10s executions  %s\n' "$target" "$seconds" "$execs" "$result"
    rm -f "$log"
done
exit $status
