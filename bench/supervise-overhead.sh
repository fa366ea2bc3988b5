#!/usr/bin/env bash
# What supervision while running costs: a fork/exec-heavy workload (a shell loop starting
# 2,000 short programs, and a `make -j2` of 400 targets that each start one) and the allow
# path (`gatekeep run -- true`), each bare, under `gatekeep run`, and under
# `gatekeep run --supervise`. Durable log on, shipped library plus 200 generated rules.
# Needs hyperfine and make (installed from Debian's packages when missing, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine make; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool"; }
done
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/policies"
python3 bench/gen-policy.py 200 > "$work/policies/200.yaml"
export HOME="$work/home" XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config"
# The shipped library and the generated rules, side by side.
cp policies/*.yaml "$work/policies/"
export GATEKEEP_POLICY="$work/policies"
{
    printf 'all:'
    for i in $(seq 400); do printf ' t%s' "$i"; done
    printf '\n'
    for i in $(seq 400); do printf 't%s:\n\t@true\n' "$i"; done
} > "$work/Makefile"
g=target/release/gatekeep
loop='for i in $(seq 2000); do /bin/true; done'
hyperfine --warmup 3 --runs 15 \
    "bash -c '$loop'" \
    "$g run -- bash -c '$loop'" \
    "$g run --supervise -- bash -c '$loop'"
# The library holds back `make -f` (a makefile is code it cannot read), so the build runs
# with the generated rules and `opaque: allow`: what is measured is the supervision.
mkdir -p "$work/build-policies"
sed '1a opaque: allow' "$work/policies/200.yaml" > "$work/build-policies/200.yaml"
hyperfine --warmup 3 --runs 15 \
    "make -s -j2 -f $work/Makefile" \
    "env GATEKEEP_POLICY=$work/build-policies $g run -- make -s -j2 -f $work/Makefile" \
    "env GATEKEEP_POLICY=$work/build-policies $g run --supervise -- make -s -j2 -f $work/Makefile"
hyperfine -N --warmup 20 --runs 300 \
    /bin/true \
    "$g run -- /bin/true" \
    "$g run --supervise -- /bin/true"
