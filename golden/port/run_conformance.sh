#!/usr/bin/env bash
# Runs the conformance kit against the PyTorch reference port and against each of its mutants, saving
# every JSON report under golden/port/results/ and a one-line verdict per run in results/summary.txt.
# The reference port is expected to pass (exit 0); every mutant is expected to be caught (non-zero exit,
# a failing surface). Usage, from anywhere:  golden/port/run_conformance.sh [extra ixc25 conform args]
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="golden/port/results"
mkdir -p "$out"
port="/usr/bin/python3 golden/port/reference_port.py"
mutants=(ntk-per-call rotate-half-swapped plora-every-token bicubic-hd-resize hd-grid-off-by-one
         rmsnorm-eps-outside-sqrt no-byte-fallback wqkv-gqa-order vit-merge-transposed)
summary="$out/summary.txt"
: > "$summary"
status=0

./ixc25 conform --port "$port" --json "$@" > "$out/reference.json" 2> "$out/reference.log"
rc=$?
if [ "$rc" -eq 0 ]; then v="pass (expected)"; else v="FAIL (expected to pass)"; status=1; fi
echo "reference: rc=$rc $v" | tee -a "$summary"

for m in "${mutants[@]}"; do
  ./ixc25 conform --port "$port --mutant $m" --json "$@" > "$out/mutant-$m.json" 2> "$out/mutant-$m.log"
  rc=$?
  if [ "$rc" -ne 0 ]; then v="caught (expected)"; else v="NOT CAUGHT (the kit passed a mutant)"; status=1; fi
  echo "mutant $m: rc=$rc $v" | tee -a "$summary"
done
exit $status
