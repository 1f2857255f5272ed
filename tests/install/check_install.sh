#!/usr/bin/env bash
# Installs a libclcnn build tree into a temporary prefix and checks that an
# outside program can use it: consumer.c is built with pkg-config and with
# find_package(clcnn), each against the shared and the static library, and
# every binary is run. Then the same with pkg-config against the build tree
# itself, before any install (clcnn-uninstalled.pc). Usage: check_install.sh
# BUILD_DIR
# Registered as the ctest test `install_consumer` (label `install`).
set -euo pipefail
export LC_ALL=C

if [[ $# -ne 1 || ! -f "$1/CMakeCache.txt" ]]; then
    echo "usage: $0 BUILD_DIR (a configured and built libclcnn build tree)" >&2
    exit 2
fi
build_dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

work=$(mktemp -d "$build_dir/install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
log="$work/step.log"

fail() {
    echo "check_install: FAIL: $*" >&2
    exit 1
}

# Runs a command quietly; shows its output only when it fails.
step() {
    local what=$1
    shift
    echo "-- $what"
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        fail "$what"
    fi
}

cache_value() {
    sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt" | head -n 1
}

# Build the consumers the way the library was built: same compiler and, for
# a sanitizer build, the same -fsanitize (the runtime must come first).
cc=$(cache_value CMAKE_C_COMPILER)
cc=${cc:-cc}
sanitize=$(cache_value CLCNN_SANITIZE)
san_flags=()
if [[ -n "$sanitize" ]]; then
    san_flags=("-fsanitize=$sanitize" -fno-omit-frame-pointer)
fi

step "install $build_dir into $prefix" cmake --install "$build_dir" --prefix "$prefix"

# ------------------------------------------------------- what got installed
for header in clcnn.h clcnn/export.h clcnn/status.h clcnn/opencl.h; do
    [[ -f "$prefix/include/$header" ]] || fail "include/$header not installed"
done
[[ ! -e "$prefix/include/runtime" && ! -e "$prefix/include/internal.h" ]] ||
    fail "internal headers were installed"
pc_file=$(find "$prefix" -name clcnn.pc -print -quit)
[[ -n "$pc_file" ]] || fail "clcnn.pc not installed"
config_dir=$(dirname "$(find "$prefix" -name clcnnConfig.cmake -print -quit)")
for file in clcnnConfig.cmake clcnnConfigVersion.cmake clcnnTargets.cmake; do
    [[ -f "$config_dir/$file" ]] || fail "$file not installed"
done
# Every tool the build made, the three the README lists, installed and
# runnable.
for tool in clcnn-train clcnn-bench clcnn-chart; do
    if [[ -x "$build_dir/hosttools/$tool" ]]; then
        [[ -x "$prefix/bin/$tool" ]] || fail "bin/$tool not installed"
        "$prefix/bin/$tool" --version | grep -q "^$tool (libclcnn) " ||
            fail "the installed $tool --version does not run"
    fi
done

export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc_file")
libdir=$(pkg-config --variable=libdir clcnn)
[[ "$(cd "$libdir" && pwd)" == "$prefix"/* ]] || fail "clcnn.pc libdir $libdir is outside $prefix"
[[ -f "$libdir/libclcnn.a" ]] || fail "libclcnn.a not in $libdir"
compgen -G "$libdir/libclcnn.so.*" >/dev/null || fail "libclcnn.so.* not in $libdir"
[[ -L "$libdir/libclcnn.so" ]] || fail "libclcnn.so link not in $libdir"

# Runs a consumer and checks which libclcnn it loaded: the installed shared
# library (kind=shared) or none at all (kind=static).
run_consumer() {
    local binary=$1 kind=$2 deps
    deps=$(LD_LIBRARY_PATH="$libdir" ldd "$binary") || fail "ldd $binary"
    if [[ $kind == shared ]]; then
        grep -q "libclcnn\.so.* => $libdir/" <<<"$deps" ||
            fail "$binary does not load libclcnn.so from $libdir:"$'\n'"$deps"
    elif grep -q libclcnn <<<"$deps"; then
        fail "$binary is linked statically but needs a shared libclcnn:"$'\n'"$deps"
    fi
    step "run $(basename "$binary")" env LD_LIBRARY_PATH="$libdir" "$binary"
    sed 's/^/   /' "$log"
}

cflags=(-std=c11 -Wall -Wextra -Werror "${san_flags[@]}")

# The MPI component: installed with its header and pkg-config module exactly
# when it was built, and said so by clcnn.pc's `mpi` variable.
has_mpi=$(cache_value CLCNN_HAS_MPI)
if [[ $has_mpi == ON ]]; then
    [[ -f "$prefix/include/clcnn/dist.h" ]] || fail "include/clcnn/dist.h not installed"
    pkg-config --exists clcnn-dist || fail "clcnn-dist.pc not installed"
    [[ "$(pkg-config --variable=mpi clcnn)" == yes ]] || fail "clcnn.pc does not say mpi=yes"
else
    [[ ! -e "$prefix/include/clcnn/dist.h" ]] || fail "clcnn/dist.h installed without its library"
    ! pkg-config --exists clcnn-dist || fail "clcnn-dist.pc installed without its library"
    [[ "$(pkg-config --variable=mpi clcnn)" == no ]] || fail "clcnn.pc does not say mpi=no"
fi

# Every installed header compiles on its own with only the install's flags
# (none reaches for a header that was not installed); clcnn/dist.h with
# the flags of its module, which bring MPI's.
for header in "$prefix"/include/clcnn.h "$prefix"/include/clcnn/*.h; do
    name=${header#"$prefix"/include/}
    module=clcnn
    [[ $name != clcnn/dist.h ]] || module=clcnn-dist
    printf '#include <%s>\ntypedef int clcnn_header_check;\n' "$name" >"$work/header.c"
    # shellcheck disable=SC2046 # pkg-config output is meant to be word-split
    step "header <$name> compiles on its own" \
        "$cc" "${cflags[@]}" -Wpedantic -fsyntax-only "$work/header.c" $(pkg-config --cflags $module)
done

# ---------------------------------------------------------------- pkg-config
# shellcheck disable=SC2046 # pkg-config output is meant to be word-split
step "pkg-config: build against the shared library" \
    "$cc" "${cflags[@]}" "$here/consumer.c" -o "$work/consumer_pc_shared" \
    $(pkg-config --cflags --libs clcnn)
run_consumer "$work/consumer_pc_shared" shared

# -l:libclcnn.a makes the linker take the archive although the .so is beside it.
# shellcheck disable=SC2046
step "pkg-config --static: build against the static library" \
    "$cc" "${cflags[@]}" "$here/consumer.c" -o "$work/consumer_pc_static" \
    $(pkg-config --cflags --static clcnn) \
    $(pkg-config --libs --static clcnn | sed 's/-lclcnn\b/-l:libclcnn.a/')
run_consumer "$work/consumer_pc_static" static

if [[ $has_mpi == ON ]]; then
    # shellcheck disable=SC2046
    step "pkg-config clcnn-dist: build against the shared libraries" \
        "$cc" "${cflags[@]}" "$here/consumer_dist.c" -o "$work/consumer_dist_pc_shared" \
        $(pkg-config --cflags --libs clcnn-dist)
    run_consumer "$work/consumer_dist_pc_shared" shared
    grep -q "libclcnn_dist\.so.* => $libdir/" <<<"$(LD_LIBRARY_PATH="$libdir" ldd "$work/consumer_dist_pc_shared")" ||
        fail "consumer_dist_pc_shared does not load libclcnn_dist.so from $libdir"
    # shellcheck disable=SC2046
    step "pkg-config --static clcnn-dist: build against the static libraries" \
        "$cc" "${cflags[@]}" "$here/consumer_dist.c" -o "$work/consumer_dist_pc_static" \
        $(pkg-config --cflags --static clcnn-dist) \
        $(pkg-config --libs --static clcnn-dist | sed 's/-lclcnn_dist\b/-l:libclcnn_dist.a/; s/-lclcnn\b/-l:libclcnn.a/')
    run_consumer "$work/consumer_dist_pc_static" static
fi

# ------------------------------------------------------ find_package(clcnn)
step "find_package(clcnn): configure the consumer project" \
    cmake -S "$here" -B "$work/cmake-build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="-Wall -Wextra -Werror ${san_flags[*]}" \
    -DCMAKE_EXE_LINKER_FLAGS="${san_flags[*]}"
found_dir=$(sed -n 's/^clcnn_DIR:[A-Z]*=//p' "$work/cmake-build/CMakeCache.txt")
[[ "$found_dir" == "$prefix"/* ]] || fail "find_package(clcnn) found $found_dir, not the install"
step "find_package(clcnn): build clcnn::clcnn and clcnn::clcnn_static consumers" \
    cmake --build "$work/cmake-build"
run_consumer "$work/cmake-build/consumer_shared" shared
run_consumer "$work/cmake-build/consumer_static" static
if [[ $has_mpi == ON ]]; then
    [[ -x "$work/cmake-build/consumer_dist_shared" ]] ||
        fail "find_package(clcnn) did not give clcnn::clcnn_dist (clcnn_dist_FOUND)"
    run_consumer "$work/cmake-build/consumer_dist_shared" shared
    run_consumer "$work/cmake-build/consumer_dist_static" static
    step "find_package(clcnn COMPONENTS dist) succeeds" \
        cmake -S "$here" -B "$work/cmake-build-dist" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_COMPILER="$cc" -DCLCNN_CONSUMER_COMPONENTS=dist
else
    [[ ! -e "$work/cmake-build/consumer_dist_shared" ]] || fail "clcnn::clcnn_dist without MPI"
    if cmake -S "$here" -B "$work/cmake-build-dist" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_COMPILER="$cc" -DCLCNN_CONSUMER_COMPONENTS=dist >"$log" 2>&1; then
        fail "find_package(clcnn COMPONENTS dist) succeeded without the component"
    fi
fi

# ------------------------------------------- the build tree (uninstalled)
# With the build directory on PKG_CONFIG_PATH, pkg-config takes
# clcnn-uninstalled.pc: the source headers and the libraries as built.
source_dir=$(cache_value clcnn_SOURCE_DIR)
PKG_CONFIG_PATH=$build_dir
[[ "$(pkg-config --path clcnn)" == "$build_dir/clcnn-uninstalled.pc" ]] ||
    fail "pkg-config in the build tree finds $(pkg-config --path clcnn), not clcnn-uninstalled.pc"
[[ "$(pkg-config --variable=includedir clcnn)" == "$source_dir/include" ]] ||
    fail "clcnn-uninstalled.pc includedir is not $source_dir/include"
libdir=$(pkg-config --variable=libdir clcnn)
[[ -f "$libdir/libclcnn.a" && -L "$libdir/libclcnn.so" ]] ||
    fail "clcnn-uninstalled.pc libdir $libdir holds no built libclcnn"
# shellcheck disable=SC2046
step "pkg-config (build tree): build against the shared library" \
    "$cc" "${cflags[@]}" "$here/consumer.c" -o "$work/consumer_tree_shared" \
    $(pkg-config --cflags --libs clcnn)
run_consumer "$work/consumer_tree_shared" shared
# shellcheck disable=SC2046
step "pkg-config --static (build tree): build against the static library" \
    "$cc" "${cflags[@]}" "$here/consumer.c" -o "$work/consumer_tree_static" \
    $(pkg-config --cflags --static clcnn) \
    $(pkg-config --libs --static clcnn | sed 's/-lclcnn\b/-l:libclcnn.a/')
run_consumer "$work/consumer_tree_static" static
if [[ $has_mpi == ON ]]; then
    [[ "$(pkg-config --path clcnn-dist)" == "$build_dir/clcnn-dist-uninstalled.pc" ]] ||
        fail "pkg-config in the build tree finds $(pkg-config --path clcnn-dist), not clcnn-dist-uninstalled.pc"
    # shellcheck disable=SC2046
    step "pkg-config clcnn-dist (build tree): build against the shared libraries" \
        "$cc" "${cflags[@]}" "$here/consumer_dist.c" -o "$work/consumer_dist_tree_shared" \
        $(pkg-config --cflags --libs clcnn-dist)
    run_consumer "$work/consumer_dist_tree_shared" shared
fi

echo "check_install: OK"
