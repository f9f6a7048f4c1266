#!/usr/bin/env bash
# Installs what the libFuzzer harnesses need beyond util/deps.sh's
# packages: clang and its runtime libraries (libFuzzer, ASan, UBSan).
# Debian 12 packages; does nothing when all of it is there already.
set -euo pipefail

exec "$(dirname "$0")/../util/deps.sh" clang libclang-rt-14-dev
