#!/bin/sh
# Configuration parsing benchmark (issue 2): `vigild -t` beside `keepalived -t` on a generated config of
# 1,000 virtual servers x 20 real servers with a TCP_CHECK each (about 126,000 lines). Wall time and peak RSS come
# from /usr/bin/time -v (Debian package `time`). Measure a release build.
#
# usage: test/bench/config_bench.sh [VIGILD] [RUNS]   (default build/bin/vigild, 5 runs; best run reported)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
vigild=${1:-$here/../../build/bin/vigild}
runs=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
conf=$work/bench.conf
python3 "$here/gen_config_bench.py" "$conf" 1000 20
echo "config: $(wc -l <"$conf") lines, $(du -k "$conf" | cut -f1) KiB"
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

measure() {  # measure NAME COMMAND...: best wall time and its peak RSS over $runs runs
    name=$1
    shift
    best_s="" best_kb=""
    i=0
    while [ "$i" -lt "$runs" ]; do
        /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt" || true
        s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); t = 0; for (k = 1; k <= n; k++) t = t * 60 + p[k]; print t}' "$work/time.txt")
        kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
        cpu=$(awk -F': ' '/User time|System time/ {t += $2} END {print t}' "$work/time.txt")
        if [ -z "$best_s" ] || awk "BEGIN {exit !($s < $best_s)}"; then best_s=$s best_kb=$kb best_cpu=$cpu; fi
        i=$((i + 1))
    done
    printf '%-12s wall %6.2f s   CPU (user+sys) %6.2f s   peak RSS %6.1f MB   (best of %d)\n' "$name" "$best_s" \
        "$best_cpu" "$(awk "BEGIN {print $best_kb / 1024}")" "$runs"
}

measure vigild "$vigild" -t -f "$conf"
if command -v keepalived >/dev/null 2>&1; then
    measure keepalived keepalived -t -f "$conf"
else
    echo "keepalived: not installed (apt-get install keepalived) - no comparison"
fi
