#!/usr/bin/env bash
# Runs the conformance kit against the PyTorch reference port and against each of its mutants, saving
# every JSON report under golden/port/results/ and a one-line verdict per run in results/summary.txt.
# The reference port is expected to pass; every mutant to fail on its own surface and nowhere else
# (golden/port/summarize.py judges the JSON reports, not the exit codes: a crash of the kit is not a catch). Usage, from anywhere:  golden/port/run_conformance.sh [extra ixc25 conform args]
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="golden/port/results"
mkdir -p "$out"
port="/usr/bin/python3 golden/port/reference_port.py"
mutants=$(/usr/bin/python3 -c 'import sys; sys.path.insert(0, "golden/port"); import summarize; print(" ".join(summarize.MUTANTS))')

./ixc25 conform --port "$port" --json "$@" > "$out/reference.json" 2> "$out/reference.log"
echo "reference: rc=$?"
for m in $mutants; do
  ./ixc25 conform --port "$port --mutant $m" --json "$@" > "$out/mutant-$m.json" 2> "$out/mutant-$m.log"
  echo "mutant $m: rc=$?"
done
# the verdicts: the reference passes; each mutant fails on its own surface and nowhere else (summary.txt)
/usr/bin/python3 golden/port/summarize.py "$out"
