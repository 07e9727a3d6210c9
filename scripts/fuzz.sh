#!/usr/bin/env bash
# scripts/fuzz.sh TARGET [MINUTES]: a coverage-guided campaign on one fuzz target (tests/fuzz/README.md).
# Builds tests/fuzz/IXC25.Fuzz in Release into artifacts/fuzz/TARGET/bin, instruments the engine assemblies
# there with sharpfuzz (the local dotnet tool of .config/dotnet-tools.json), runs afl-fuzz (AFL++: apt-get
# install afl++) on tests/fuzz/corpus/TARGET for MINUTES (default 10), copies new crashers and hangs into
# tests/fuzz/crashers/TARGET/ and prints executions and coverage from AFL's fuzzer_stats.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target="${1:-}"; minutes="${2:-10}"
targets="safetensors torchzip config sentencepiece image compare port-request video-probe server-request"
if [[ -z "$target" || " $targets " != *" $target "* ]]; then
  echo "usage: scripts/fuzz.sh TARGET [MINUTES]   (TARGET: $targets)" >&2; exit 2
fi
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install -y afl++" >&2; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

work="$root/artifacts/fuzz/$target"; bin="$work/bin"; findings="$work/findings"
rm -rf "$bin" "$findings"; mkdir -p "$bin"
echo "== build (Release) into $bin"
dotnet build tests/fuzz/IXC25.Fuzz -c Release -nologo -v quiet -clp:ErrorsOnly -o "$bin"
echo "== instrument"
dotnet tool restore >/dev/null
# the engine's assemblies (never the driver, the targets library or SharpFuzz itself)
for dll in IXC25.Runtime IXC25.Tokenizer IXC25.Vision IXC25.Model IXC25.Graph IXC25.Conformance IXC25.Server; do
  dotnet tool run sharpfuzz "$bin/$dll.dll" >/dev/null
  echo "   $dll.dll"
done

corpus="tests/fuzz/corpus/$target"
[ -d "$corpus" ] || { echo "no seed corpus $corpus" >&2; exit 1; }
echo "== afl-fuzz $target for $minutes min (seeds: $corpus)"
# dotnet is not an AFL-compiled binary (SharpFuzz speaks AFL's protocol itself); no core_pattern/cpufreq tuning on a shared machine
export AFL_SKIP_BIN_CHECK=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
# -t: per-input time limit in ms (a hang is a finding); -m none: the .NET runtime reserves more address space than AFL's default
timeout --signal=INT $((minutes * 60 + 30)) \
  afl-fuzz -i "$corpus" -o "$findings" -t 5000 -m none -V $((minutes * 60)) -- dotnet "$bin/IXC25.Fuzz.dll" "$target" \
  > "$work/afl.log" 2>&1 || { echo "afl-fuzz ended with an error; the end of $work/afl.log:"; tail -n 30 "$work/afl.log"; }

stats="$findings/default/fuzzer_stats"
[ -f "$stats" ] || { echo "no fuzzer_stats: afl-fuzz did not start (see $work/afl.log)" >&2; exit 1; }
new=0
for kind in crashes hangs; do
  for f in "$findings/default/$kind"/id:*; do
    [ -f "$f" ] || continue
    dest="tests/fuzz/crashers/$target"
    mkdir -p "$dest"
    name="$kind-$(sha1sum "$f" | cut -c1-16)"
    if [ ! -e "$dest/$name" ] && [ ! -e "tests/fuzz/crashers-open/$target/$name" ]; then cp "$f" "$dest/$name"; new=$((new+1)); fi
  done
done
echo "== $target: $(grep -E '^(execs_done|execs_per_sec|corpus_count|bitmap_cvg|edges_found|total_edges|saved_crashes|saved_hangs|unique_crashes|unique_hangs|run_time)\b' "$stats" | sed 's/ *: */=/' | tr '\n' ' ')"
echo "== $new new crasher(s) copied to tests/fuzz/crashers/$target/ (triage with the uninstrumented build: dotnet build tests/fuzz/IXC25.Fuzz -c Release; dotnet artifacts/bin/IXC25.Fuzz/release/IXC25.Fuzz.dll $target FILE)"
