#!/usr/bin/env bash
# The GPU runs behind benchmarks/README.md, as one command per device call.
#
#   bash benchmarks/gpu_suite.sh speed     # 18 processes, est. 6-9 min: each 64x64 config twice
#   bash benchmarks/gpu_suite.sh profile   # 8 processes, est. 4-6 min: profile_step.py at 64x64,
#                                          #   and synthetic vs flowers with pinned autotuning
#
# Expects, in the repository root (both git-ignored): `.whl/` with the Keras,
# namex and optree wheels (see ../shared/bench/README.md), and `.bench/` with
# copies of ../shared/bench/*.py and ../shared/data/flowers128. Pass them to
# the device tool as `carry`. Prints only result lines.
set -u
part=${1:?usage: gpu_suite.sh speed|profile}
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
fi
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
FLOWERS=${FLOWERS:-.bench/flowers128}
B="python3 benchmarks/train_step.py --backend jax --batch 128 --steps 300 --warmup 8 --steps-per-execution 8"
P="python3 benchmarks/profile_step.py --batch 128 --steps 100 --warmup 8 --steps-per-execution 8"
T="python3 .bench/torch_dcgan.py --batch 128 --steps 300"
H="python3 .bench/keras_jax_dcgan.py --batch 128 --steps 300"

versions() {
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 -c "import jax, keras, torch; print('jax', jax.__version__, 'keras', keras.__version__, 'torch', torch.__version__)"
}

speed() {
  # Two rounds, so the spread between processes on one machine is measured
  # next to the ratios (runs 3 and 4 disagreed by up to 25% at 64 bf16).
  for round in 1 2; do
    echo "round $round"
    $T --res 64 --mode eager
    $H --res 64
    $B --res 64
    $B --res 64 --data "$FLOWERS"
    $H --res 64 --bf16
    $B --res 64 --precision mixed_bfloat16
    $B --res 64 --precision mixed_bfloat16 --data "$FLOWERS"
  done
  $T --res 128 --mode amp
  $H --res 128 --bf16
  $B --res 128 --precision mixed_bfloat16
  $B --res 128 --precision mixed_bfloat16 --data "$FLOWERS"
}

profile() {
  # Where the 64x64 misses go: device busy vs idle (launch gaps), copies, compiles.
  $P --res 64
  $P --res 64 --precision mixed_bfloat16
  $P --res 64 --precision mixed_bfloat16 --data "$FLOWERS"
  # XLA picks convolution algorithms by timing them in each process; with the
  # choice pinned, synthetic and real data run the same kernels, so what is
  # left of their gap is the input.
  tuned=/tmp/autotune_64_bf16.textproto
  XLA_FLAGS="--xla_gpu_dump_autotune_results_to=$tuned" $B --res 64 --precision mixed_bfloat16
  for round in 1 2; do
    XLA_FLAGS="--xla_gpu_load_autotune_results_from=$tuned" $B --res 64 --precision mixed_bfloat16
    XLA_FLAGS="--xla_gpu_load_autotune_results_from=$tuned" $B --res 64 --precision mixed_bfloat16 --data "$FLOWERS"
  done
}

case $part in
  speed|profile) { versions; $part; } 2>&1 | grep -E "^(profile|keras|round)|img/s|Error|NVIDIA|^jax " | grep -v cuda_timer ;;
  *) echo "unknown part: $part (speed or profile)" >&2; exit 2 ;;
esac
