#!/usr/bin/env bash
# Launcher of the Microsoft.ML.Tokenizers port (a tokenize-only port for the conformance kit): builds it in
# Release when a source is newer than the last build, then runs it. From the repository root:
#   ./ixc25 conform --port "examples/MlTokenizersPort/run.sh" --surface tokenize
# Arguments go to the port (e.g. --special none|transformers|transformers+unused).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dll="$root/artifacts/bin/MlTokenizersPort/release/MlTokenizersPort.dll"
stamp="$root/artifacts/.mltokenizers-port-stamp"
if [ ! -f "$dll" ] || [ ! -f "$stamp" ] || [ -n "$(find "$here" "$root/Directory.Build.props" "$root/Directory.Packages.props" \
      -newer "$stamp" -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' \) -print -quit 2>/dev/null)" ]; then
  echo "MlTokenizersPort: building (Release)..." >&2
  mkdir -p "$root/artifacts"
  started="$stamp.new"
  touch "$started"
  log="$root/artifacts/.mltokenizers-port-build.log"
  if ! dotnet build "$here/MlTokenizersPort.csproj" -c Release -nologo -v quiet >"$log" 2>&1; then
    grep -E "error" "$log" >&2 || cat "$log" >&2
    echo "MlTokenizersPort: build failed (full log: $log)" >&2
    exit 1
  fi
  mv "$started" "$stamp"
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
exec dotnet "$dll" --model "$root/golden/tokenizer/tokenizer.model" "$@"
