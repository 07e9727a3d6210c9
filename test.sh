#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds in Release, runs every test project, runs the
# CPU kernel and image resampling suites again with AVX-512, AVX2 and all hardware intrinsics switched off, runs the
# full-size all-logits trace alone, and prints a
# final line "N passed, N failed" (non-zero exit if anything failed or a test host crashed).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

"$root/scripts/setup.sh" || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

results="$root/artifacts/test-results"
rm -rf "$results"; mkdir -p "$results"
crashed=0

echo "== build (Release)"
if ! dotnet build IXC25.Reference.sln -c Release -nologo -v quiet -clp:ErrorsOnly; then
  echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi

run() { # label, env..., -- dotnet test args
  local label="$1"; shift
  echo "== tests: $label"
  if ! env "$@" --logger "trx;LogFilePrefix=$label" --results-directory "$results" -nologo; then
    # dotnet test exits 1 when a test fails (counted from the trx); a missing trx means a crash
    if ! ls "$results"/"$label"*.trx >/dev/null 2>&1; then crashed=$((crashed+1)); echo "!! $label produced no results (crash?)"; fi
  fi
}

run all dotnet test IXC25.Reference.sln -c Release --no-build
for isa in DOTNET_EnableAVX512=0 DOTNET_EnableAVX2=0 DOTNET_EnableHWIntrinsic=0; do
  name="isa-${isa%%=*}"; name="${name#isa-DOTNET_Enable}"
  run "isa-$name" "$isa" dotnet test tests/IXC25.Backends.Tests -c Release --no-build --filter "Category=Isa"
  run "isa-vision-$name" "$isa" dotnet test tests/IXC25.Vision.Tests -c Release --no-build --filter "FullyQualifiedName~Kernel|FullyQualifiedName~Property"
done

# issue 17's check at full size, alone (it needs ~4 GB of memory and disk for tens of seconds): trace --all-logits of
# a 24-crop image (10,198 positions, 3.5 GiB of logits) written in pieces, then compared memory-mapped
run big-trace IXC25_BIG_TESTS=1 dotnet test tests/IXC25.Cli.Tests -c Release --no-build --filter "FullyQualifiedName~AllLogitsOfA24CropImageAreWrittenAndCompared"

passed=0; failed=0; skipped=0
for f in "$results"/*.trx; do
  [ -f "$f" ] || continue
  line=$(grep -o '<Counters [^>]*>' "$f" | head -n1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$line"); p=${p:-0}
  fl=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$line"); fl=${fl:-0}
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$line"); t=${t:-0}
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$line"); e=${e:-0}
  passed=$((passed+p)); failed=$((failed+fl)); skipped=$((skipped+t-e))
done
failed=$((failed+crashed))
echo "${skipped} skipped (tests that need hardware this machine lacks, e.g. a CUDA GPU, and op-table rows of ops a backend lowers to none)"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
