#!/usr/bin/env bash
# The project's test command: the whole suite on the TensorFlow backend, and
# every backend-sensitive module (trainer, models, layers, saving, callbacks,
# run folders, metrics' feature extraction, export, mixed precision,
# multi-device, NumPy input) on JAX and on PyTorch, skipping
# backend-independent checks marked single_backend. The PyTorch pass also
# skips tests marked slow_on_torch (torch.compile, long learning runs), and
# is left out when torch is not installed.
#
# The TensorFlow pass runs beside the JAX-then-PyTorch passes: each keeps
# about one core busy (much of it compiling), so on two cores the three
# finish in about the time of the longest. The second log prints when it
# is done. JAX compiles the tests' tiny models with LLVM's optimizations
# off, which saves more compile time than it costs in run time there (not
# so for TensorFlow's longer runs).
# Usage: bash scripts/run_tests.sh [extra pytest args]
set -uo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pytest=(python -m pytest -q -p no:cacheprovider --durations=8)

backend_tests=()
for name in backend gan losses dcgan vanilla cgan cyclegan cogan layers saving callbacks cli \
    callbacks_fid metrics export data_numpy_pipeline mixed_precision distribution \
    layers_equalized layers_normalization layers_style layers_noise \
    layers_attention layers_conditional_batch_norm layers_spectral regularizers augment \
    sampling \
    sagan \
    wgan \
    progan \
    biggan \
    stylegan \
    ; do
  backend_tests+=("tests/test_${name}.py")
done

other_backends() {
  local status=0
  echo "== KERAS_BACKEND=jax: ${backend_tests[*]}"
  XLA_FLAGS="${XLA_FLAGS:-} --xla_backend_optimization_level=0" KERAS_BACKEND=jax \
    "${pytest[@]}" --basetemp "$work/jax" -m "not single_backend" "$@" "${backend_tests[@]}" \
    || status=1
  if python -c "import torch" 2>/dev/null; then
    echo "== KERAS_BACKEND=torch: the same modules"
    KERAS_BACKEND=torch "${pytest[@]}" --basetemp "$work/torch" \
      -m "not single_backend and not slow_on_torch" "$@" "${backend_tests[@]}" || status=1
  else
    echo "== KERAS_BACKEND=torch: skipped (torch is not installed)"
  fi
  return $status
}

other_backends "$@" > "$work/other.log" 2>&1 &
other=$!

echo "== KERAS_BACKEND=tensorflow: all tests"
KERAS_BACKEND=tensorflow "${pytest[@]}" --basetemp "$work/tensorflow" "$@" tests
tf_status=$?

wait "$other"
other_status=$?
cat "$work/other.log"
echo "== exit status: tensorflow $tf_status, jax+torch $other_status"
[ "$tf_status" -eq 0 ] && [ "$other_status" -eq 0 ]
