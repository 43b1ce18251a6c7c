#!/usr/bin/env bash
# make_quantized.sh: make QDQ (int8) versions of the shared TSM models
# with tsmc quantize, and data sets holding onnxruntime's outputs of them,
# for tsmc verify and tsmc bench -ort (issue #17's measurements).
#
#   scripts/make_quantized.sh [OUT [MODEL_NAME...]]
#
# OUT defaults to /work/models-extra/q, the models to the three of the
# issue; they are read from $TSMC_MODELS (default ../shared/models). For
# each model it writes
#
#   OUT/calib/NAME/seq_*          calibration sets: random TSM inputs with
#                                 onnxruntime's float32 outputs (an online
#                                 model: sequences, the states fed back)
#   OUT/NAME/model.onnx           the QDQ model tsmc quantize writes
#   OUT/NAME/quantize.log         what it printed: the float32 vs int8
#                                 agreement over the calibration runs
#   OUT/NAME/test_data_set_*      other random inputs with onnxruntime's
#                                 outputs of the QDQ model (one sequence
#                                 for an online model)
#
# Weights of the shared models are random: the agreement figures are a
# sanity check, not an accuracy. It needs onnxruntime: npm ci --prefix
# internal/ort, or ORT_NODE_MODULES pointing at its node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/work/models-extra/q}
shift || true
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  models=(tsm_mobilenetv2_jester_online tsm_mobilenetv2_k400_8f_official tsm_resnet50_k400_8f_mmaction)
fi
src=${TSMC_MODELS:-../shared/models}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/tsmc" ./cmd/tsmc
go build -o "$bin/ortsets" ./internal/cmd/ortsets

for name in "${models[@]}"; do
  float="$src/$name/model.onnx"
  [ -f "$float" ] || { echo "make_quantized: $float does not exist" >&2; exit 1; }
  calib="$out/calib/$name"
  dst="$out/$name"
  rm -rf "$calib" "$dst"
  mkdir -p "$calib" "$dst"
  # Calibration: two sequences of 8 frames for an online model (states
  # fed back), 4 clips otherwise (ResNet50's 8-frame clips take the
  # interpreter minutes each).
  case "$name" in
    *online*) seqs=(a:8:11 b:8:12) ;;
    *resnet50*) seqs=(a:4:11) ;;
    *) seqs=(a:6:11) ;;
  esac
  args=()
  for s in "${seqs[@]}"; do
    IFS=: read -r tag n seed <<<"$s"
    "$bin/ortsets" -n "$n" -seed "$seed" -o "$calib/seq_$tag" "$float"
    args+=(-calibrate "$calib/seq_$tag")
  done
  "$bin/tsmc" quantize "${args[@]}" -o "$dst/model.onnx" "$float" 2>&1 | tee "$dst/quantize.log"
  # Data sets of the QDQ model: onnxruntime's outputs on fresh inputs.
  "$bin/ortsets" -n 4 -seed 21 -float "$float" -o "$dst" "$dst/model.onnx"
done
