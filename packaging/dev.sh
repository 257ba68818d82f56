#!/usr/bin/env bash
# The developer's entry point: `deps` installs what vigil needs from Debian 12's archive (idempotent),
# `build` builds, `demo` runs the main job on the built-in example, `test` runs the whole test suite.
# Run as root on a fresh Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
JOBS=$(nproc)

# Build and runtime dependencies, and the real peers and tools the tests use.
PACKAGES=(
    build-essential cmake pkg-config git ca-certificates
    libmnl-dev libcap-ng-dev libprotobuf-dev protobuf-compiler libspdlog-dev libfmt-dev catch2 libasio-dev
    libsystemd-dev libssl-dev
    clang libclang-rt-14-dev clang-format lld valgrind
    python3 iproute2 iputils-ping nftables procps psmisc tshark keepalived systemd time
    linux-image-amd64 qemu-system-x86 busybox-static ipvsadm kmod cpio
)

log() { printf '\n== %s\n' "$*" >&2; }

deps() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "dependencies: all installed"
        return
    fi
    log "dependencies: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; the answer does not matter here.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq
    apt-get install -y --no-install-recommends "${missing[@]}"
    # The keepalived package starts a service on install; the tests run their own keepalived peers.
    systemctl disable --now keepalived >/dev/null 2>&1 || true
}

# build DIR [cmake options...]
build_dir() {
    local dir=$1
    shift
    cmake -S "$TOP" -B "$TOP/$dir" -DVIGIL_WERROR=ON "$@" >/dev/null
    cmake --build "$TOP/$dir" -j"$JOBS"
}

build() {
    log "build: build/ (RelWithDebInfo, -Werror)"
    build_dir build -DCMAKE_BUILD_TYPE=RelWithDebInfo
}

demo() {
    deps
    build
    local conf=$TOP/etc/vigil.conf
    log "demo: vigild -t -f etc/vigil.conf"
    "$TOP/build/bin/vigild" -t -f "$conf"
    log "demo: vigild --dump-config -f etc/vigil.conf"
    "$TOP/build/bin/vigild" --dump-config -f "$conf"
    log "demo: VRRP failover, two vigild routers and a client in network namespaces"
    VIGIL_BIN=$TOP/build/bin python3 "$TOP/test/integration/demo_failover.py"
}

run_tests() {
    deps
    build
    log "build: build-asan/ (Debug, AddressSanitizer + UndefinedBehaviorSanitizer) for the unit tests"
    build_dir build-asan -DCMAKE_BUILD_TYPE=Debug -DVIGIL_SANITIZE=ON
    local status=0
    log "tests: unit (ASan+UBSan)"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir "$TOP/build-asan" -L unit --output-on-failure -j"$JOBS" || status=1
    if command -v clang++ >/dev/null; then
        log "build: build-fuzz/ (clang, libFuzzer) for the fuzz targets"
        CC=clang CXX=clang++ cmake -S "$TOP" -B "$TOP/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_FUZZ=ON >/dev/null
        local targets
        targets=$(cmake --build "$TOP/build-fuzz" --target help | awk '/_fuzz$/ {print $2}')
        if [ -n "$targets" ]; then
            # shellcheck disable=SC2086
            cmake --build "$TOP/build-fuzz" -j"$JOBS" --target $targets
            log "tests: fuzz (each target for a short run over its seeds)"
            ctest --test-dir "$TOP/build-fuzz" -L fuzz --output-on-failure -j"$JOBS" || status=1
        fi
    fi
    log "tests: everything else on the release build (integration, vm)"
    ctest --test-dir "$TOP/build" -LE 'unit|fuzz' --output-on-failure || status=1
    return $status
}

case "${1:-}" in
    deps) deps ;;
    build) deps && build ;;
    demo) demo ;;
    test) run_tests ;;
    *)
        echo "usage: $0 deps|build|demo|test" >&2
        exit 2
        ;;
esac
