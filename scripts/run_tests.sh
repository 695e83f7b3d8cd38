#!/usr/bin/env bash
# The project's test command: the whole suite on the TensorFlow backend, then
# every backend-sensitive module (trainer, models, layers, callbacks, export,
# mixed precision, multi-device, NumPy input) on JAX and on PyTorch,
# skipping backend-independent checks marked single_backend. The
# PyTorch pass also skips tests marked slow_on_torch (torch.compile, long
# learning runs), and is left out when torch is not installed.
# Usage: bash scripts/run_tests.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== KERAS_BACKEND=tensorflow: all tests"
KERAS_BACKEND=tensorflow python -m pytest -q -p no:cacheprovider --durations=8 "$@" tests

backend_tests=()
for name in backend gan losses dcgan vanilla cgan cyclegan layers callbacks callbacks_fid \
    export data_numpy mixed_precision distribution; do
  backend_tests+=("tests/test_${name}.py")
done
echo "== KERAS_BACKEND=jax: ${backend_tests[*]}"
KERAS_BACKEND=jax python -m pytest -q -p no:cacheprovider --durations=8 -m "not single_backend" "$@" \
  "${backend_tests[@]}"

if python -c "import torch" 2>/dev/null; then
  echo "== KERAS_BACKEND=torch: the same modules"
  KERAS_BACKEND=torch python -m pytest -q -p no:cacheprovider --durations=8 \
    -m "not single_backend and not slow_on_torch" "$@" "${backend_tests[@]}"
else
  echo "== KERAS_BACKEND=torch: skipped (torch is not installed)"
fi
