#!/usr/bin/env bash
# The prepared device check of issue 12 (bench/gpu/README.md), for a machine with an NVIDIA GPU, python3 with PyTorch and
# no .NET, run from the repository root with the publish of bench/gpu/publish.sh in artifacts/gpucheck:
#   1. IXC25.GpuCheck selftest on the backend (the GPU test suite: op table, goldens, determinism)
#   2. IXC25.GpuCheck bench on the backend at the dims preset (one decoder layer prefill/decode, one ViT layer, the head)
#   3. torch_side.py --verify (its layers against golden/reference/modeling_ref.py), then the same layers in PyTorch, bf16 and fp32
#   4. side_by_side.py: one table with ratios
# Every step runs under `timeout`; the caps add up to less than 8 minutes (GPUCHECK_TOTAL_S, 470 s by default, bounds
# them all). A step that fails or times out does not stop the others.
#
#   bench/gpu/run.sh [--backend gpu|gpu-sim|cpu] [--dims 7b|small] [--out DIR]
#
# Environment: GPUCHECK_BACKEND, GPUCHECK_DIMS, GPUCHECK_OUT (default $OUT when set, else artifacts/gpucheck-run),
# PYTHON (default: the first of python3, /usr/bin/python3 that imports torch), GPUCHECK_TOTAL_S, and the caps of each
# step GPUCHECK_SELFTEST_S (160), GPUCHECK_BENCH_S (180), GPUCHECK_TORCH_S (90); --verify 20 s, the table 10 s.
# Exit status: 0 all passed; 1 the selftest failed; 2 bad usage or missing publish; 3 another step failed or timed out.
set -uo pipefail
cd "$(dirname "$0")/../.."

backend=${GPUCHECK_BACKEND:-gpu}
dims=${GPUCHECK_DIMS:-7b}
outdir=${GPUCHECK_OUT:-${OUT:-artifacts/gpucheck-run}}
while (( $# )); do
    case "$1" in
        --backend) backend=${2:?--backend needs a value}; shift 2 ;;
        --dims) dims=${2:?--dims needs a value}; shift 2 ;;
        --out) outdir=${2:?--out needs a value}; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
exe=artifacts/gpucheck/IXC25.GpuCheck
[[ -f "$exe" && ! -x "$exe" ]] && chmod +x "$exe"   # a copy that lost its mode bits
if [[ ! -x "$exe" ]]; then
    echo "run.sh: $exe is missing: build it with bench/gpu/publish.sh (and carry artifacts/gpucheck to the device)" >&2
    exit 2
fi
mkdir -p "$outdir"
total=${GPUCHECK_TOTAL_S:-470}
start=$SECONDS
status=0
summary=()

# the first failure decides the exit status (a failed selftest: 1, anything else: 3)
fail() { if (( status == 0 )); then status=$1; fi; }

# step NAME CAP_SECONDS LOGFILE COMMAND...: runs COMMAND under timeout (the cap, or what is left of the total), its output
# on stdout and in LOGFILE; records its status and time
step() {
    local name=$1 cap=$2 log=$3; shift 3
    local left=$(( total - (SECONDS - start) ))
    local limit=$(( cap < left ? cap : left ))
    local t0=$SECONDS rc
    if (( limit < 5 )); then
        summary+=("$name: SKIPPED (no time left of ${total} s)")
        fail 3
        return
    fi
    echo
    echo "=== $name (limit ${limit} s)"
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    case $rc in
        0) summary+=("$name: ok ($(( SECONDS - t0 )) s)") ;;
        124|137) summary+=("$name: TIMED OUT after ${limit} s"); fail 3 ;;
        *) summary+=("$name: FAILED, exit $rc ($(( SECONDS - t0 )) s)"); if [[ "$name" == selftest* ]]; then fail 1; else fail 3; fi ;;
    esac
}

echo "device check: backend $backend, dims $dims, output in $outdir, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
device_args=()
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv 2>&1 | sed 's/^/nvidia-smi: /'
    gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
    [[ -n "$gpu_name" && "$backend" == gpu ]] && device_args=(--device "$gpu_name")
else
    echo "nvidia-smi: not found"
fi
python=""
for p in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c "import torch" >/dev/null 2>&1; then python=$p; break; fi
done

step "selftest --backend $backend" "${GPUCHECK_SELFTEST_S:-160}" "$outdir/selftest.txt" "$exe" selftest --backend "$backend"
step "bench --backend $backend --dims $dims" "${GPUCHECK_BENCH_S:-180}" "$outdir/ours.txt" \
    "$exe" bench --backend "$backend" --dims "$dims" "${device_args[@]}" --json "$outdir/ours.jsonl"
if [[ -z "$python" ]]; then
    summary+=("torch side: SKIPPED (no python3 with torch; set PYTHON)")
    fail 3
else
    step "torch_side.py --verify" 20 "$outdir/verify.txt" env PYTHONUNBUFFERED=1 "$python" bench/gpu/torch_side.py --dims small --verify
    step "torch_side.py --dims $dims" "${GPUCHECK_TORCH_S:-90}" "$outdir/torch.txt" \
        env PYTHONUNBUFFERED=1 "$python" bench/gpu/torch_side.py --dims "$dims" --json "$outdir/torch.jsonl"
fi
if [[ -s "$outdir/ours.jsonl" && -s "$outdir/torch.jsonl" && -n "$python" ]]; then
    step "side by side" 10 "$outdir/side_by_side.md" "$python" bench/gpu/side_by_side.py "$outdir/ours.jsonl" "$outdir/torch.jsonl"
else
    summary+=("side by side: SKIPPED (a side has no results)")
    fail 3
fi

echo
echo "=== device check summary ($(( SECONDS - start )) s of at most ${total} s)"
printf '  %s\n' "${summary[@]}"
exit $status
