#!/usr/bin/env bash
# Rebuild src/word2vec.wasm from native/word2vec.c. The .wasm is committed, so machines without clang still run
# the SIMD kernel; rebuild after changing the C file (needs clang and lld: apt-get install -y clang lld).
#   bash packages/pncf/native/build-word2vec.sh [out.wasm]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../src/word2vec.wasm}"
clang="${CLANG:-clang}"

# wasm32 with SIMD, no libc; the memory is imported and shared so that worker threads train one set of tables.
# Saturating float-to-int conversions spare V8 the range checks of the trapping ones in the sampling code.
# --strip-all drops names and the producers section, so the bytes depend on the compiler's code generation only.
"$clang" --target=wasm32 -msimd128 -matomics -mbulk-memory -mnontrapping-fptoint -O3 -nostdlib -ffreestanding -Wall -Wextra -Werror \
  -Wl,--no-entry -Wl,--import-memory -Wl,--shared-memory -Wl,--max-memory=4294967296 \
  -Wl,-z,stack-size=4096 -Wl,--strip-all \
  -o "$out" "$here/word2vec.c"

# Instances share the memory but each has its own stack pointer starting at the same address: the kernel must
# never touch the shadow stack. Checked when wabt is around (apt-get install -y wabt).
if command -v wasm2wat >/dev/null; then
  if wasm2wat --enable-threads "$out" | grep -Eq 'global\.(get|set)'; then
    echo "build-word2vec: $out uses the shadow stack (a global); keep the kernel's state in caller-owned memory" >&2
    exit 1
  fi
fi
echo "built $out ($(wc -c <"$out") bytes)"
