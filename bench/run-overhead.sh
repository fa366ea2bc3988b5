#!/usr/bin/env bash
# Allow-path overhead of `gatekeep run` against the bare command, with the shipped library
# and with generated 200- and 1,000-rule policies, durable log on; and `sudo -n` as the
# price a user pays today for a privileged wrapper. Needs hyperfine and sudo (installed
# from Debian's packages when missing, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine sudo; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool"; }
done
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/gen-policy.py 200 > "$work/200.yaml"
python3 bench/gen-policy.py 1000 > "$work/1000.yaml"
printf 'version: 1\n' > "$work/empty.yaml"
# /usr/bin/true has a second hard link on some images, which makes gatekeep look for
# aliases on PATH; a copy with one link shows the common case.
cp /usr/bin/true "$work/true1"
export HOME="$work/home" XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config"
g=target/release/gatekeep
echo "links of /usr/bin/true: $(stat -c %h /usr/bin/true)"
hyperfine -N --warmup 20 --runs 300 \
    /bin/true \
    "sudo -n /bin/true" \
    "$g --version" \
    "$g run --policy $work/empty.yaml -- $work/true1" \
    "$g run --policy $work/empty.yaml -- /bin/true" \
    "$g run -- /bin/true" \
    "$g run --policy $work/200.yaml -- $work/true1" \
    "$g run --policy $work/200.yaml -- /bin/true" \
    "$g run --policy $work/1000.yaml -- /bin/true"
echo "fdatasync per record (strace -T):"
if command -v strace >/dev/null; then
    strace -T -e trace=fdatasync "$g" run --policy "$work/empty.yaml" -- /bin/true 2>&1 | grep -o '<[0-9.]*>'
fi
