#!/usr/bin/env bash
# One idempotent set-up for a fresh clone: virtual environment, packages (with a cached llama.cpp build),
# the local model files, and (with --browser) Debian's Chromium for the browser test.
# The second run only checks stamps and takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

WANT_BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --browser) WANT_BROWSER=1 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

PY="${PYTHON:-python3}"
VENV=.venv
WHEELS=.cache/wheels
LLAMA_VERSION=0.3.36
export PIP_DISABLE_PIP_VERSION_CHECK=1
# Keep every download and build inside the project, never in the home folder.
export PIP_CACHE_DIR="$PWD/.cache/pip"
export HF_HOME="$PWD/.cache/huggingface"
mkdir -p "$WHEELS"

step() { printf '\n==> %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  step "Creating the virtual environment in $VENV"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"


stamp_of() { { cat pyproject.toml scripts/setup.sh; cat constraints.txt 2>/dev/null || true; } | sha256sum | cut -d' ' -f1; }
STAMP_FILE="$VENV/.setup-stamp"
if [ "$(cat "$STAMP_FILE" 2>/dev/null)" != "$(stamp_of)" ]; then
  step "Installing torch (CPU build)"
  "$VPY" -m pip install --quiet "torch==2.13.0"

  if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    step "Building llama-cpp-python $LLAMA_VERSION (one time, ~7 min on 2 cores; cached in $WHEELS)"
    # The source is kept in .cache/sdist: the LoRA converter (playground.finetune.convert) comes from it too.
    "$VPY" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$LLAMA_VERSION" -d .cache/sdist
    CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}" "$VPY" -m pip wheel --no-deps --wheel-dir "$WHEELS" \
      ".cache/sdist/llama_cpp_python-$LLAMA_VERSION.tar.gz"
  fi

  step "Installing the playground and its dependencies"
  CONSTRAINT_ARGS=()
  [ -f constraints.txt ] && CONSTRAINT_ARGS=(--constraint constraints.txt)
  "$VPY" -m pip install --quiet --find-links "$WHEELS" "${CONSTRAINT_ARGS[@]}" -e ".[dev]"
  "$VPY" -m pip check
  stamp_of > "$STAMP_FILE"
fi

step "Checking the local model files"
"$VPY" -m playground.models.local_models

step "Loading the sample's recorded answers (sample_corpus/replay) into the answer cache"
# An unchanged sample variant then answers at once, exactly as the model did; skipped when already loaded.
"$VPY" -m playground.cli.main replays import

step "Checking llama.cpp's LoRA converter (from the llama-cpp-python source)"
"$VPY" -c "from playground.finetune.convert import ensure_converter; print('  ', ensure_converter())"

if [ "$WANT_BROWSER" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  step "Installing Debian's Chromium for the browser test"
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
step "Set-up complete"
