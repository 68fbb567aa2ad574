#!/usr/bin/env bash
# Rebuild a committed WebAssembly kernel from its C file: src/word2vec.wasm from native/word2vec.c, or
# src/tower.wasm from native/tower.c. The .wasm files are committed, so machines without clang still run them;
# rebuild after changing a C file (needs clang and lld: apt-get install -y clang lld).
#   bash packages/pncf/native/build.sh word2vec|tower [out.wasm]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kernel="${1:?usage: build.sh word2vec|tower [out.wasm]}"
out="${2:-$here/../src/$kernel.wasm}"
clang="${CLANG:-clang}"

# wasm32 with SIMD, no libc, the memory imported. word2vec's memory is shared so that worker threads train one
# set of tables; the tower kernel runs in the calling thread. Saturating float-to-int conversions spare V8 the
# range checks of the trapping ones. --strip-all drops names and the producers section, so the bytes depend on
# the compiler's code generation only.
case "$kernel" in
  word2vec) threads=(-matomics -mbulk-memory -Wl,--shared-memory) ;;
  tower) threads=() ;;
  *) echo "build.sh: unknown kernel $kernel (word2vec or tower)" >&2; exit 2 ;;
esac
"$clang" --target=wasm32 -msimd128 "${threads[@]}" -mnontrapping-fptoint -O3 -nostdlib -ffreestanding \
  -Wall -Wextra -Werror -Wl,--no-entry -Wl,--import-memory -Wl,--max-memory=4294967296 \
  -Wl,-z,stack-size=4096 -Wl,--strip-all \
  -o "$out" "$here/$kernel.c"

# Instances of word2vec share the memory but each has its own stack pointer starting at the same address, and the
# tower kernel's arrays start at the bottom of its memory: neither kernel may touch the shadow stack. Checked
# when wabt is around (apt-get install -y wabt).
if command -v wasm2wat >/dev/null; then
  if wasm2wat --enable-threads "$out" | grep -Eq 'global\.(get|set)'; then
    echo "build.sh: $out uses the shadow stack (a global); keep the kernel's state in caller-owned memory" >&2
    exit 1
  fi
fi
echo "built $out ($(wc -c <"$out") bytes)"
