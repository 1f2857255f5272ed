#!/usr/bin/env bash
# Installs the Debian 12 packages that libclcnn's build, tests and main job
# need, plus any package named as an argument (e.g. a script that needs
# libFuzzer runs `bash ci/setup.sh clang libclang-rt-14-dev`). Idempotent
# and non-interactive: asks apt only when a package is missing. Runs as
# root, or through sudo when that is available.
set -euo pipefail

packages=(
    build-essential       # gcc (with ASan/UBSan runtimes), make, libc headers
    cmake
    pkg-config
    ocl-icd-opencl-dev    # OpenCL ICD loader (libOpenCL.so) and its CMake/pkg-config files
    opencl-c-headers
    pocl-opencl-icd       # the CPU OpenCL driver that CI runs on
    mesa-opencl-icd       # rusticl, a second OpenCL implementation; Clover (1.1), which is refused
    libclblast-dev
    clinfo
    libcmocka-dev
    oclgrind              # OpenCL kernel simulator for the `oclgrind` test label
    libjansson-dev
    zlib1g-dev
    dataset-fashion-mnist # training data for the main job
    libopenmpi-dev        # MPI for the data-parallel component (libclcnn_dist)
    openmpi-bin           # mpirun, for its tests on two ranks
    clang                 # libFuzzer for ci/fuzz.sh
    libclang-rt-14-dev    # clang's fuzzer and sanitizer runtimes
    "$@"
)

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$package")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "ci/setup.sh: all ${#packages[@]} packages are installed"
    exit 0
fi

echo "ci/setup.sh: installing ${missing[*]}"
as_root=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        echo "ci/setup.sh: not root and no sudo; install these packages: ${missing[*]}" >&2
        exit 1
    fi
fi

apt_options=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get "${apt_options[@]}" update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get "${apt_options[@]}" install -y -qq --no-install-recommends "${missing[@]}" </dev/null
