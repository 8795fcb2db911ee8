#!/usr/bin/env bash
# Create .venv and install the stack into it, idempotently: every step first
# checks what is there and skips itself when it is satisfied.
#   torch (kept if present; else torch==2.13.0) -> build tools -> mmcv 2.1.0
#   compiled with ops -> runtime deps -> test deps + openmim -> this package.
# Env: VENV (default .venv), PYTHON (default python3), MMCV_BUILD_JOBS,
#      TORCH_INDEX_URL (an extra index for torch, e.g. a CUDA or CPU wheel index).
set -uo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
LOGDIR="$VENV/install-logs"
STEP="start"
NSTEPS=7
n=0

if [ -t 1 ]; then BOLD=$'\033[1m' RED=$'\033[31m' OFF=$'\033[0m'; else BOLD= RED= OFF=; fi
say() { printf '%s[install %s/%s]%s %s\n' "$BOLD" "$n" "$NSTEPS" "$OFF" "$*"; }
fail() {
  printf '%s[install] FAILED at step "%s"%s: %s\n' "$RED" "$STEP" "$OFF" "$1" >&2
  [ -n "${2:-}" ] && [ -f "$2" ] && { echo "--- last lines of $2 ---" >&2; tail -n 40 "$2" >&2; }
  exit 1
}
step() { n=$((n + 1)); STEP="$1"; say "$1"; }
# run LOGNAME CMD...: run quietly into a log, fail loudly with its tail.
run() {
  local log="$LOGDIR/$1.log"; shift
  "$@" >"$log" 2>&1 || fail "command '$*' exited with $?" "$log"
}
vpy() { "$VENV/bin/python" "$@"; }
pip_install() { local log=$1; shift; run "$log" vpy -m pip install --disable-pip-version-check "$@"; }
unmet() { vpy tools/misc/check_requirements.py "$@"; }

# ---------------------------------------------------------------- 1. venv
step "virtual environment ($VENV)"
if [ -x "$VENV/bin/python" ]; then
  say "exists: $("$VENV/bin/python" --version 2>&1)"
else
  command -v "$PYTHON" >/dev/null || fail "no '$PYTHON' on PATH (set PYTHON=...)"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || fail "Python >= 3.10 needed, '$PYTHON' is $("$PYTHON" --version 2>&1)"
  venv_flags=()
  # A machine whose system Python already has a CUDA torch keeps it.
  if "$PYTHON" -c 'import torch, sys; sys.exit(torch.version.cuda is None)' 2>/dev/null; then
    venv_flags+=(--system-site-packages)
    say "reusing the system's CUDA torch (--system-site-packages)"
  fi
  "$PYTHON" -m venv "${venv_flags[@]}" "$VENV" || fail "python -m venv $VENV failed"
fi
mkdir -p "$LOGDIR"

# ---------------------------------------------------------------- 2. torch
step "torch"
if vpy -c 'import torch' 2>/dev/null; then
  say "kept: torch $(vpy -c 'import torch; print(torch.__version__, "cuda" if torch.cuda.is_available() else "cpu")')"
else
  spec=$(grep -E '^torch' requirements/build.txt)
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    say "installing $spec from $TORCH_INDEX_URL (log: $LOGDIR/torch.log)"
    pip_install torch "$spec" --extra-index-url "$TORCH_INDEX_URL"
  elif command -v nvidia-smi >/dev/null 2>&1; then
    say "installing $spec (GPU machine: the CUDA build; log: $LOGDIR/torch.log)"
    pip_install torch "$spec"
  else
    # No GPU: the CPU build. PyPI's default Linux x86_64 wheel is the CUDA
    # one (several GB of nvidia packages); the +cpu build comes from a
    # configured find-links / index, else from PyTorch's CPU index.
    say "installing $spec+cpu (no GPU; log: $LOGDIR/torch.log)"
    if ! vpy -m pip install --disable-pip-version-check "$spec+cpu" \
        >"$LOGDIR/torch.log" 2>&1; then
      pip_install torch "$spec+cpu" --extra-index-url \
        https://download.pytorch.org/whl/cpu
    fi
  fi
fi

# ---------------------------------------------------------------- 3. build tools
step "build tools (setuptools<81, wheel, ninja)"
missing=$(unmet requirements/build.txt | grep -v '^torch')
if [ -z "$missing" ]; then say "present"; else
  say "installing: $(echo $missing)"
  # shellcheck disable=SC2086
  pip_install build-tools $missing
fi

# ---------------------------------------------------------------- 4. mmcv
step "mmcv 2.1.0 with compiled ops"
mmcv_ok() { vpy -c 'import mmcv, sys; from mmcv.ops import nms, roi_align; sys.exit(mmcv.__version__ != "2.1.0")' 2>/dev/null; }
if mmcv_ok; then say "present, ops import"; else
  log="$LOGDIR/mmcv.log"
  cuda=$(vpy -c 'import torch; print(int(torch.cuda.is_available()))')
  say "installing: a wheel from PIP_FIND_LINKS or pip's cache if there is one, else compiled from source against torch (about 11-14 min on 2 cores; log: $log)"
  start=$(date +%s)
  rebuild=()
  if vpy -c 'import mmcv' 2>/dev/null; then
    # installed but its ops do not load (mmcv-lite, or built for another
    # torch): pip would call it satisfied, and its cache may hold that build
    say "an mmcv without working ops is installed: rebuilding it"
    rebuild=(--force-reinstall --no-deps --no-cache-dir)
  fi
  ( MMCV_WITH_OPS=1 FORCE_CUDA=$cuda MAX_JOBS=${MMCV_BUILD_JOBS:-$(nproc)} \
      vpy -m pip install --disable-pip-version-check -v --no-build-isolation \
      "${rebuild[@]}" -r requirements/mmcv.txt >"$log" 2>&1; echo $? >"$log.rc" ) &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30
    kill -0 "$pid" 2>/dev/null || break
    last=$(grep -aoE '(building|copying|Building|Using cached|Processing|\[[0-9]+/[0-9]+\])[^ ]*( [^ ]+)?' "$log" | tail -n 1)
    say "  ... mmcv $(( $(date +%s) - start ))s ${last}"
  done
  wait "$pid"
  [ "$(cat "$log.rc")" = 0 ] || fail "mmcv build exited with $(cat "$log.rc")" "$log"
  mmcv_ok || fail "mmcv installed but its ops do not import" "$log"
  say "mmcv ready after $(( $(date +%s) - start ))s"
fi

# ---------------------------------------------------------------- 5. runtime
step "runtime requirements (mmengine, mmdet, pycocotools, ...)"
missing=$(unmet requirements/runtime.txt)
if [ -z "$missing" ]; then say "present"; else
  say "installing: $(echo $missing)"
  pip_install runtime -r requirements/runtime.txt
fi

# ---------------------------------------------------------------- 6. tests + mim
step "test requirements, TrackEval and openmim (optional extras)"
missing=$(unmet requirements/tests.txt requirements/optional.txt requirements/identity.txt requirements/mim.txt)
if [ -z "$missing" ]; then say "present"; else
  say "installing: $(echo $missing)"
  pip_install tests -r requirements/tests.txt -r requirements/optional.txt -r requirements/identity.txt
  # --no-deps: openmim's dependency chain would downgrade setuptools below
  # what torch wants; what it imports is in optional.txt.
  pip_install mim --no-deps -r requirements/mim.txt
fi

# ---------------------------------------------------------------- 7. package
step "mmvis_pretrain (editable)"
here=$(pwd -P)
# checked from / so that the checkout itself is not on sys.path
vpy_abs=$(cd "$VENV/bin" && pwd -P)/python
if (cd / && "$vpy_abs" -c 'import mmvis_pretrain, os, sys; sys.exit(os.path.dirname(os.path.dirname(os.path.realpath(mmvis_pretrain.__file__))) != sys.argv[1])' "$here") 2>/dev/null; then
  say "installed from this checkout"
else
  pip_install package --no-deps --no-build-isolation -e .
  vpy -c 'import mmvis_pretrain' 2>"$LOGDIR/import.log" || fail "import mmvis_pretrain failed" "$LOGDIR/import.log"
fi
# mim looks for <site-packages>/mmvis_pretrain/.mim/{tools,configs}; a PEP 660
# editable install has no such folder, so point one at the checkout.
site=$(vpy -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ "$(readlink "$site/mmvis_pretrain" 2>/dev/null)" != "$here/mmvis_pretrain" ] \
    && { [ -L "$site/mmvis_pretrain" ] || [ ! -e "$site/mmvis_pretrain" ]; }; then
  ln -sfn "$here/mmvis_pretrain" "$site/mmvis_pretrain" || fail "could not link the package for mim"
fi
say "done: $(vpy -c 'import torch, mmcv, mmengine, mmdet, mmvis_pretrain as m; print(f"torch {torch.__version__}, mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, mmvis_pretrain {m.__version__}")')"
