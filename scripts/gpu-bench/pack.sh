#!/usr/bin/env bash
# Packs what the WebGPU benchmark needs into one folder for a Linux x86-64 GPU machine that has a Vulkan
# driver and Python with PyTorch but neither Node nor network: this Node binary, dist/ and configs/, the
# production node_modules cut to the files Node loads (each TF.js package's Node bundle, Dawn's dawn.node
# for linux-x64, sharp's native parts; not the Chromium, which only the software-GPU tests use, but its Vulkan
# loader), the host-cost benchmark, the reference script of ../shared/tools and the official model code it times. About 40 MB; run.sh beside this
# script runs everything there.
#
#   scripts/gpu-bench/pack.sh OFFICIAL_REPO_DIR OUT_DIR
#
# OFFICIAL_REPO_DIR: a checkout of leoxiaobin/deep-high-resolution-net.pytorch (lib/ and experiments/ are taken).
set -euo pipefail
official=${1:?usage: pack.sh OFFICIAL_REPO_DIR OUT_DIR}
out=${2:?usage: pack.sh OFFICIAL_REPO_DIR OUT_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${HRNET_SHARED:-$root/../shared}
[ -f "$official/lib/models/pose_hrnet.py" ] || { echo "pack.sh: $official/lib/models/pose_hrnet.py not found (give a checkout of the official HRNet code)" >&2; exit 2; }
[ -f "$shared/tools/torch_hrnet_bench.py" ] || { echo "pack.sh: $shared/tools/torch_hrnet_bench.py not found (set HRNET_SHARED)" >&2; exit 2; }
[ -d "$root/node_modules" ] || { echo "pack.sh: node_modules/ is missing: run npm install first" >&2; exit 2; }
(cd "$root" && npm run --silent build)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
app=$stage/app
mkdir -p "$app/node_modules" "$stage/official/lib/models" "$stage/official/experiments/coco/hrnet"
cp -r "$root/dist" "$root/configs" "$root/package.json" "$app/"
find "$app/dist" \( -name '*.map' -o -name '*.d.ts' \) -delete
# The host's share of a step (bench/webgpu-host.ts), bundled with the project code it imports.
(cd "$root" && npx --no-install esbuild bench/webgpu-host.ts --bundle --platform=node --target=node20 \
  --external:@tensorflow/* --external:webgpu --external:sharp --log-level=warning --outfile="$app/bench/webgpu-host.js")

# The production dependency closure, each package cut to what Node loads.
cd "$root"
npm ls --omit=dev --all --parseable 2>/dev/null | sed "s|^$root/||" | grep '^node_modules/' | sort -u | while read -r pkg; do
  name=${pkg#node_modules/}
  case "$name" in
    @sparticuz/chromium|@types/*|*/node_modules/@types/*) continue ;;
  esac
  dest=$app/$pkg
  mkdir -p "$dest"
  case "$name" in
    @tensorflow/*/node_modules/*) cp -r "$pkg/." "$dest/" ;;
    @tensorflow/*)
      main=$(node -p "require('./$pkg/package.json').main")
      cp "$pkg/package.json" "$dest/"
      mkdir -p "$dest/$(dirname "$main")"
      cp "$pkg/$main" "$dest/$main"
      if [ "$name" = @tensorflow/tfjs-backend-wasm ]; then cp "$pkg"/dist/*.wasm "$dest/dist/"; fi
      ;;
    webgpu)
      cp "$pkg/package.json" "$pkg/index.js" "$dest/"
      mkdir -p "$dest/dist/linux-x64"
      cp "$pkg/dist/linux-x64/dawn.node" "$dest/dist/linux-x64/"
      ;;
    *)
      tar -C "$pkg" --exclude=./node_modules --exclude='*.map' --exclude='*.md' --exclude='*.ts' -cf - . | tar -C "$dest" -xf -
      ;;
  esac
done

# A Vulkan loader for machines that have the GPU's driver but no libvulkan.so.1 (containers that get the NVIDIA
# driver mounted): the Khronos loader @sparticuz/chromium carries (run.sh puts it on the library path there).
mkdir -p "$stage/vulkan"
loader=$(node -e "require('./dist/backend/npm-chromium').unpackNpmChromium().then((c) => console.log(c.vulkanLoader))")
cp "$loader" "$stage/vulkan/"

cp "$shared/tools/torch_hrnet_bench.py" "$stage/"
cp "$official/lib/models/pose_hrnet.py" "$stage/official/lib/models/"
touch "$stage/official/lib/models/__init__.py"
cp "$official/experiments/coco/hrnet/w32_256x192_adam_lr1e-3.yaml" "$stage/official/experiments/coco/hrnet/"

mkdir -p "$out"
xz -6 -T0 -c "$(command -v node)" > "$out/node.xz"
tar -C "$stage" -cf - app official vulkan torch_hrnet_bench.py | xz -6 -T0 > "$out/app.tar.xz"
cp "$root/scripts/gpu-bench/run.sh" "$out/"
du -ch "$out"/* | tail -n 1
