#!/usr/bin/env bash
# The project's test command: the whole suite on the TensorFlow backend, then
# the backend-sensitive modules on JAX. Usage: bash scripts/run_tests.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== KERAS_BACKEND=tensorflow"
KERAS_BACKEND=tensorflow python -m pytest -q -p no:cacheprovider "$@" tests
echo "== KERAS_BACKEND=jax"
KERAS_BACKEND=jax python -m pytest -q -p no:cacheprovider "$@" -m "not tensorflow_only" tests
