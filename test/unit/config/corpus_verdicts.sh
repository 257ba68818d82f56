#!/bin/sh
# Runs `vigild -t` over every configuration of the shared corpus and checks each verdict (issue 2, "Done when").
# usage: corpus_verdicts.sh VIGILD CORPUS_DIR
set -u
vigild=$1
corpus=$2
fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

expect() {  # expect FILE EXIT_CODE [PATTERN...]: exit code, and each pattern found in the diagnostics
    file=$1 code=$2
    shift 2
    "$vigild" -t -f "$file" >"$out" 2>&1
    rc=$?
    if [ "$rc" -ne "$code" ]; then
        echo "FAIL: $file: exit $rc, expected $code"; sed 's/^/    /' "$out" | head -20; fail=1; return
    fi
    for pattern in "$@"; do
        if ! grep -q -- "$pattern" "$out"; then
            echo "FAIL: $file: no diagnostic matching '$pattern'"; sed 's/^/    /' "$out" | head -20; fail=1
        fi
    done
    echo "ok: $file (exit $rc)"
}

n=0
for f in "$corpus"/keepalived-samples/*; do
    n=$((n + 1))
    case "$(basename "$f")" in
    keepalived.conf.vrrp.rules)
        expect "$f" 1 "keepalived.conf.vrrp.rules:11:8: error: '192.168.100.' is not an IPv4 or IPv6 address" ;;
    keepalived.conf.vrrp.lvs_syncd)
        expect "$f" 1 "keepalived.conf.vrrp.lvs_syncd:4:3: error: .*group { VI_2" \
            "keepalived.conf.vrrp.lvs_syncd:5:3: error: .*group { VI_3" ;;
    *) expect "$f" 0 ;;
    esac
done
[ "$n" -eq 27 ] || { echo "FAIL: expected 27 keepalived samples, found $n"; fail=1; }
for f in "$corpus"/guide-examples/*.conf; do expect "$f" 0; done

# --dump-config shows every setting of load-balancer.conf, its real servers included.
"$vigild" --dump-config -f "$corpus/guide-examples/load-balancer.conf" >"$out" 2>/dev/null
for pattern in '"192.168.1.11"' '"192.168.1.12"' '"path": "/health"' '"check_script"' '"chk_http"' \
    '"log_file": "/var/log/vigil.log"' '"persistence_timeout_s": 300' '"lb_algo": "wrr"'; do
    grep -q -- "$pattern" "$out" || { echo "FAIL: --dump-config of load-balancer.conf lacks $pattern"; fail=1; }
done
exit $fail
