#!/usr/bin/env bash
# Builds the device check (bench/gpu/README.md): a self-contained, trimmed linux-x64 publish of bench/gpu/IXC25.GpuCheck
# into artifacts/gpucheck (ignored by git; the device run carries it), refuses one of 60 MiB or more, then runs the
# published binary here so that the trimmer's warnings hide no breakage:
#   ptx                                   every ILGPU kernel compiled to PTX by ILGPU's CUDA backend (no device needed)
#   selftest --backend gpu-sim --golden none   the op table on ILGPU's CPU accelerator, each case twice
#   bench --backend gpu-sim --dims small --runs 1   every bench case once
# GPUCHECK_SMOKE=0 skips the runs; GPUCHECK_SMOKE=full runs the selftest with the goldens too (about 4 minutes here).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=artifacts/gpucheck
limit_mib=60
rm -rf "$out"
nice -n 10 dotnet publish bench/gpu/IXC25.GpuCheck/IXC25.GpuCheck.csproj -c Release -r linux-x64 -o "$out" -nologo -v quiet -clp:ErrorsOnly
bytes=$(du -sb "$out" | cut -f1)
echo "publish: $out, $bytes bytes ($(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB, limit $limit_mib MiB), $(find "$out" -type f | wc -l) files"
if (( bytes >= limit_mib * 1048576 )); then
    echo "publish.sh: $out is $bytes bytes, at or over the $limit_mib MiB the device check may carry" >&2
    exit 1
fi
smoke=${GPUCHECK_SMOKE:-1}
[[ "$smoke" == 0 ]] && exit 0
exe="$out/IXC25.GpuCheck"
echo "== published binary: ptx"
"$exe" ptx
echo "== published binary: selftest --backend gpu-sim"
if [[ "$smoke" == full ]]; then "$exe" selftest --backend gpu-sim; else "$exe" selftest --backend gpu-sim --golden none; fi
echo "== published binary: bench --backend gpu-sim --dims small --runs 1"
"$exe" bench --backend gpu-sim --dims small --runs 1
echo "publish.sh: $out built and its smoke runs passed"
