#!/usr/bin/env bash
# Allow-path overhead of `gatekeep run` against the bare command, with the shipped library
# and with generated 200- and 1,000-rule policies, durable log on. Needs hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/gen-policy.py 200 > "$work/200.yaml"
python3 bench/gen-policy.py 1000 > "$work/1000.yaml"
printf 'version: 1\n' > "$work/empty.yaml"
export HOME="$work/home" XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config"
g=target/release/gatekeep
hyperfine -N --warmup 20 --runs 300 \
    /bin/true \
    "$g --version" \
    "$g run --policy $work/empty.yaml -- /bin/true" \
    "$g run -- /bin/true" \
    "$g run --policy $work/200.yaml -- /bin/true" \
    "$g run --policy $work/1000.yaml -- /bin/true"
echo "fdatasync per record (strace -T):"
strace -T -e trace=fdatasync "$g" run --policy "$work/empty.yaml" -- /bin/true 2>&1 | grep -o '<[0-9.]*>'
