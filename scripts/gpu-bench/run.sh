#!/usr/bin/env bash
# On the GPU machine, in the folder pack.sh wrote: unpacks Node and the app into a temporary folder, records
# the machine (GPUs, driver, cores, and `hrnet gpus`: the adapters as GPUS numbers them), then measures, one
# after the other, the host's share of a WebGPU step on this CPU (bench/webgpu-host.ts, Dawn's Null backend:
# no GPU involved), and on this GPU the official PyTorch HRNet-W32 256×192 (batch 32; TF32 off
# and on) and `hrnet bench model --backend webgpu --batch 32` (training and inference images/s, the adapter
# named, the top kernels of one step). Everything printed is also written to RESULTS_DIR.
#
#   bash run.sh [RESULTS_DIR]        (default: ./results)
#
# BENCH_BATCH sets the batch of both (default 32), HRNET_BENCH_ARGS adds options to the project's bench (e.g.
# "--steps 5"), WEBGPU_TIMEOUT bounds it in seconds (default 420); HOST_BENCH=0 skips the host's share,
# TORCH_BENCH=0 PyTorch, WEBGPU_BENCH=0 the project's bench.
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
# in seconds (default 540). The checkpoints stay behind (they are deleted with the temporary folder).
set -uo pipefail
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

if [ "${HOST_BENCH:-1}" != 0 ]; then
  (cd "$work/app" && timeout 240 "$work/node" bench/webgpu-host.js 3) 2>&1 | tee "$res/webgpu-host.txt"
fi
if [ "${TORCH_BENCH:-1}" != 0 ]; then
  (cd "$work" && PYTHONUNBUFFERED=1 timeout 300 python3 torch_hrnet_bench.py --official official --device cuda --batch "${BENCH_BATCH:-32}" --steps 10 --tf32 both) 2>&1 | tee "$res/torch.txt"
fi
if [ "${WEBGPU_BENCH:-1}" != 0 ]; then
  # shellcheck disable=SC2086
  (cd "$work/app" && timeout "${WEBGPU_TIMEOUT:-420}" "$work/node" dist/cli/main.js bench model --backend webgpu --batch "${BENCH_BATCH:-32}" --profile --json ${HRNET_BENCH_ARGS:-}) 2>&1 | tee "$res/webgpu.txt"
fi
if [ "${WEBGPU_BENCH:-1}" != 0 ] && [ "${DGRAD_MM:-1}" != 0 ]; then
  # shellcheck disable=SC2086
  (cd "$work/app" && HRNET_TFJS_FLAGS=WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE:false timeout "${WEBGPU_TIMEOUT:-420}" "$work/node" dist/cli/main.js bench model --backend webgpu --batch "${BENCH_BATCH:-32}" --profile --json ${HRNET_BENCH_ARGS:-}) 2>&1 | tee "$res/webgpu-dgrad-mm.txt"
fi
if [ "${MULTI_GPU:-0}" = 1 ]; then
  gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
  if [ "${gpus:-0}" -ge 2 ]; then
    # shellcheck disable=SC2086
    (cd "$work/app" && timeout "${WEBGPU_TIMEOUT:-420}" "$work/node" dist/cli/main.js bench model --backend webgpu --batch $((${BENCH_BATCH:-32} * gpus)) --replicas "$gpus" --json ${HRNET_BENCH_ARGS:-}) 2>&1 | tee "$res/webgpu-$gpus-gpus.txt"
  else
    echo "run.sh: MULTI_GPU=1 needs two GPUs or more; nvidia-smi lists ${gpus:-none}" | tee "$res/webgpu-multi-gpu.txt"
  fi
fi
if [ "${MAIN_JOB:-0}" = 1 ]; then
  mkdir -p "$res/main-job"
  (cd "$work/app" && HRNET_BACKEND=webgpu timeout "${MAIN_JOB_TIMEOUT:-540}" "$work/node" dist/cli/main.js train --out "$work/main-job") 2>&1 | tee "$res/main-job/output.txt"
  for f in metrics.jsonl curves.png; do [ -f "$work/main-job/$f" ] && cp "$work/main-job/$f" "$res/main-job/"; done
fi
rm -rf "$work"
