#!/usr/bin/env bash
# On the GPU machine, in the folder pack.sh wrote: unpacks Node and the app into a temporary folder, records
# the machine (GPUs, driver, cores, and `hrnet gpus`: the adapters as GPUS numbers them), then measures, one
# after the other, on this GPU the official PyTorch HRNet-W32 256×192 (batch 32; TF32 off and on) and
# `hrnet bench model --backend webgpu --batch 32` (training and inference images/s, the time the host takes to
# record a step, the adapter named, the top kernels of one step), then the host's share of a WebGPU step on this
# CPU (bench/webgpu-host.ts, Dawn's Null backend: no GPU involved). Everything printed is also written to RESULTS_DIR, as each step ends.
#
#   bash run.sh [RESULTS_DIR]        (default: ./results)
#
# BUDGET bounds the whole run in seconds (default 540, under a 10-minute limit on commands): each step's
# timeout is its own or what is left, whichever is less, and a step with less than 20 s left is skipped with a
# line saying so (in RESULTS_DIR/skipped.txt), so that a limit from outside cuts nothing already measured.
#
# BENCH_BATCH sets the batch of both (default 32), HRNET_BENCH_ARGS adds options to the project's bench (e.g.
# "--steps 5"), WEBGPU_TIMEOUT bounds it in seconds (default 300); TORCH_BENCH=0 skips PyTorch, WEBGPU_BENCH=0
# the project's bench, HOST_BENCH=0 the host's share.
#
# DGRAD_MM=0 skips the second run of the project's bench with TF.js's matrix-product program for a convolution's
# input gradient (HRNET_TFJS_FLAGS=WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE:false), which TF.js has not tuned against its
# default, the direct program; the two runs' kernel tables say which the GPU prefers.
#
# MULTI_GPU=1 then times the project's bench on every GPU nvidia-smi lists, one replica process each, at
# BENCH_BATCH × that many (GPUs of one model: see the README's *Identical GPUs*).
#
# MAIN_JOB=1 then trains the main job on WebGPU (`hrnet train` with no config: the synthetic dataset is rendered
# first) and writes its output, metrics.jsonl and curves.png to RESULTS_DIR/main-job; MAIN_JOB_TIMEOUT bounds it
# in seconds (default: what is left). The checkpoints stay behind (they are deleted with the temporary folder).
set -uo pipefail
started=$(date +%s)
here=$(cd "$(dirname "$0")" && pwd)
res=${1:-$here/results}
mkdir -p "$res"
work=$(mktemp -d)
xz -dc "$here/node.xz" > "$work/node" && chmod +x "$work/node" || exit 1
xz -dc "$here/app.tar.xz" | tar -C "$work" -xf - || exit 1

# Where the NVIDIA container runtime mounts the driver, its Vulkan ICD is not in the loader's default paths.
nv_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$nv_icd" ]; then export VK_DRIVER_FILES=$nv_icd; fi
has_loader() {
  ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' && return 0
  local d
  local IFS=:
  for d in ${LD_LIBRARY_PATH:-}; do [ -e "$d/libvulkan.so.1" ] && return 0; done
  return 1
}
if ! has_loader; then
  # The driver without a loader: the Khronos loader the pack carries (from @sparticuz/chromium), as the app itself
  # does where that package is installed.
  export LD_LIBRARY_PATH=$work/vulkan${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  echo "run.sh: no Vulkan loader (libvulkan.so.1) on this machine: using the pack's ($work/vulkan)" >&2
fi

{
  date -u +%FT%TZ
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"
  nproc
  # The adapters as GPUS numbers them, and whether GPUs of one model can get a process each.
  (cd "$work/app" && timeout 120 "$work/node" dist/cli/main.js gpus 2>&1)
} | tee "$res/machine.txt"

budget=${BUDGET:-540}
# The timeout for a step that wants $1 seconds: that, or what is left of the budget; nothing (status 1) when
# less than 20 s are left.
bound() {
  local left=$((budget - ($(date +%s) - started)))
  [ "$left" -ge 20 ] || return 1
  if [ "$1" -lt "$left" ]; then echo "$1"; else echo "$left"; fi
}
skipped() { echo "run.sh: $1 skipped: less than 20 s of the ${budget} s budget left" | tee -a "$res/skipped.txt" >&2; }
bench_args=(bench model --backend webgpu --batch "${BENCH_BATCH:-32}" --profile --json)
# shellcheck disable=SC2206
extra_args=(${HRNET_BENCH_ARGS:-})

if [ "${TORCH_BENCH:-1}" != 0 ]; then
  if t=$(bound 300); then
    (cd "$work" && PYTHONUNBUFFERED=1 timeout "$t" python3 torch_hrnet_bench.py --official official --device cuda --batch "${BENCH_BATCH:-32}" --steps 10 --tf32 both) 2>&1 | tee "$res/torch.txt"
  else skipped "PyTorch's bench"; fi
fi
if [ "${WEBGPU_BENCH:-1}" != 0 ]; then
  if t=$(bound "${WEBGPU_TIMEOUT:-300}"); then
    (cd "$work/app" && timeout "$t" "$work/node" dist/cli/main.js "${bench_args[@]}" "${extra_args[@]}") 2>&1 | tee "$res/webgpu.txt"
  else skipped "the project's bench"; fi
fi
if [ "${HOST_BENCH:-1}" != 0 ]; then
  if t=$(bound 240); then
    (cd "$work/app" && timeout "$t" "$work/node" bench/webgpu-host.js 3) 2>&1 | tee "$res/webgpu-host.txt"
  else skipped "the host's share"; fi
fi
if [ "${WEBGPU_BENCH:-1}" != 0 ] && [ "${DGRAD_MM:-1}" != 0 ]; then
  if t=$(bound "${WEBGPU_TIMEOUT:-300}"); then
    (cd "$work/app" && HRNET_TFJS_FLAGS=WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE:false timeout "$t" "$work/node" dist/cli/main.js "${bench_args[@]}" "${extra_args[@]}") 2>&1 | tee "$res/webgpu-dgrad-mm.txt"
  else skipped "the bench with the matrix-product input gradient"; fi
fi
if [ "${MULTI_GPU:-0}" = 1 ]; then
  gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
  if [ "${gpus:-0}" -lt 2 ]; then
    echo "run.sh: MULTI_GPU=1 needs two GPUs or more; nvidia-smi lists ${gpus:-none}" | tee "$res/webgpu-multi-gpu.txt"
  elif t=$(bound "${WEBGPU_TIMEOUT:-300}"); then
    (cd "$work/app" && timeout "$t" "$work/node" dist/cli/main.js bench model --backend webgpu --batch $((${BENCH_BATCH:-32} * gpus)) --replicas "$gpus" --json "${extra_args[@]}") 2>&1 | tee "$res/webgpu-$gpus-gpus.txt"
  else skipped "the bench on $gpus GPUs"; fi
fi
if [ "${MAIN_JOB:-0}" = 1 ]; then
  if t=$(bound "${MAIN_JOB_TIMEOUT:-$budget}"); then
    mkdir -p "$res/main-job"
    (cd "$work/app" && HRNET_BACKEND=webgpu timeout "$t" "$work/node" dist/cli/main.js train --out "$work/main-job") 2>&1 | tee "$res/main-job/output.txt"
    for f in metrics.jsonl curves.png; do [ -f "$work/main-job/$f" ] && cp "$work/main-job/$f" "$res/main-job/"; done
  else skipped "the main job"; fi
fi
rm -rf "$work"
