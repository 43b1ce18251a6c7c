#!/usr/bin/env bash
# bench-vs-ort.sh: tsmc against onnxruntime on the shared TSM models, at 1
# and 2 threads. Each measurement is one `tsmc bench -ort` run (medians of
# N runs per engine, same inputs, threads and process); it is repeated R
# times per model and thread count, alternating through the models, and
# the line gives the median of the R ratios with their range, since a
# shared machine drifts between runs.
#
# At 1 thread both engines run pinned to the same CPU (taskset, where
# present), the CPU changing from repeat to repeat: the two vCPUs of the
# machine this was written on differ by about 24% in speed, so an
# unpinned pair of runs compared whichever CPUs the two processes got.
#
#   scripts/bench-vs-ort.sh [-n N] [-r R] [-t RECORDS] [MODEL_NAME...]
#
# With -t, tsmc runs with the tuning records of RECORDS (bench -tuning).
#
# Models come from $TSMC_MODELS, else ../shared/models beside the module.
# Needs the onnxruntime runner set up (README: npm ci --prefix internal/ort).
# Timings are only meaningful on an otherwise idle machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
models=${TSMC_MODELS:-$root/../shared/models}
n=20
r=3
tuning=()
while getopts n:r:t: opt; do
	case $opt in
	n) n=$OPTARG ;;
	r) r=$OPTARG ;;
	t) tuning=(-tuning "$(cd "$(dirname "$OPTARG")" && pwd)/$(basename "$OPTARG")") ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	names=(tsm_mobilenetv2_k400_8f_official tsm_mobilenetv2_k400_8f_mmaction
		tsm_mobilenetv2_jester_online tsm_resnet50_k400_8f_mmaction)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/tsmc" ./cmd/tsmc)
for rep in $(seq "$r"); do
	for m in "${names[@]}"; do
		for t in 1 2; do
			pin=()
			if [ "$t" = 1 ] && command -v taskset >/dev/null; then
				pin=(taskset -c $(((rep - 1) % $(nproc))))
			fi
			out=$("${pin[@]}" "$tmp/tsmc" bench -ort -n "$n" -threads "$t" "${tuning[@]}" "$models/$m/model.onnx" 2>&1) || {
				echo "$m threads=$t failed:"
				echo "$out"
				exit 1
			}
			# tsmc ms, onnxruntime ms, ratio, max relative difference
			echo "$(awk '/^tsmc /{print $3}' <<<"$out") $(awk '/^onnxrt /{print $3}' <<<"$out")" \
				"$(awk '/^ratio /{print $3}' <<<"$out") $(awk '/^agree /{print $5}' <<<"$out")" >>"$tmp/$m.$t"
		done
	done
done
printf '%-34s %3s %14s %14s %20s %9s\n' model thr "tsmc ms" "ort ms" "ratio (range)" "max err"
for m in "${names[@]}"; do
	for t in 1 2; do
		sort -k3 -g "$tmp/$m.$t" | awk -v m="$m" -v t="$t" '
			{ ts[NR] = $1; os[NR] = $2; rs[NR] = $3; e = ($4 > e ? $4 : e) }
			END {
				k = int((NR + 1) / 2)
				printf "%-34s %3s %14s %14s %20s %9s\n", m, t, ts[k], os[k],
					sprintf("%s (%s-%s)", rs[k], rs[1], rs[NR]), e
			}'
	done
done
