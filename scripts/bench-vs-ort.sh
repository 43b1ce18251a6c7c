#!/usr/bin/env bash
# bench-vs-ort.sh: tsmc against onnxruntime on the shared TSM models, at 1
# and 2 threads, each pair timed in one `tsmc bench -ort` run (medians of
# N runs per engine). Prints one line per model and thread count.
#
#   scripts/bench-vs-ort.sh [N] [MODEL_NAME...]
#
# Models come from $TSMC_MODELS, else ../shared/models beside the module.
# Needs the onnxruntime runner set up (README: npm ci --prefix tools/ort).
# Timings are only meaningful on an otherwise idle machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
models=${TSMC_MODELS:-$root/../shared/models}
n=${1:-20}
shift || true
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	names=(tsm_mobilenetv2_k400_8f_official tsm_mobilenetv2_k400_8f_mmaction
		tsm_mobilenetv2_jester_online tsm_resnet50_k400_8f_mmaction)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/tsmc" ./cmd/tsmc)
printf '%-36s %7s %12s %12s %7s %10s\n' model threads "tsmc ms" "ort ms" ratio "max err"
for m in "${names[@]}"; do
	for t in 1 2; do
		out=$("$tmp/tsmc" bench -ort -n "$n" -threads "$t" "$models/$m/model.onnx" 2>&1) || {
			echo "$m threads=$t failed:"
			echo "$out"
			exit 1
		}
		tsmc=$(awk '/^tsmc /{print $3}' <<<"$out")
		ort=$(awk '/^onnxrt /{print $3}' <<<"$out")
		ratio=$(awk '/^ratio /{print $3}' <<<"$out")
		err=$(awk '/^agree /{print $5}' <<<"$out")
		printf '%-36s %7s %12s %12s %7s %10s\n' "$m" "$t" "$tsmc" "$ort" "$ratio" "$err"
	done
done
