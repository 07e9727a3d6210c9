#!/usr/bin/env bash
# Packs the conformance kit and the engine libraries it stands on as NuGet packages (one version,
# Directory.Build.props) into artifacts/packages. A .NET port then references IXC25.Conformance from
# that folder:  dotnet add package IXC25.Conformance --source /path/to/artifacts/packages
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/artifacts/packages"
mkdir -p "$out"
for p in IXC25.Runtime IXC25.Tokenizer IXC25.Vision IXC25.Graph IXC25.Model IXC25.Backends.Reference IXC25.Backends.Cpu IXC25.Backends.Gpu IXC25.Backends IXC25.Conformance; do
  dotnet pack "$root/src/$p/$p.csproj" -c Release -o "$out" -nologo -v quiet
done
ls "$out"
