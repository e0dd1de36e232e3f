#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image, in /autograder/source
# (this zip, unpacked). It installs the pinned grading environment into a virtual environment beside
# it, .venv/, which run_autograder grades every submission with.
#
# - torch comes from PyTorch's CPU index (@TORCH_INDEX@): Gradescope has no GPU, and the
#   CPU wheel is far smaller than the CUDA one (no nvidia-* packages). constraints.txt pins the rest.
# - The engine is installed editable (-e .): the venv then imports the autograder package from this
#   folder, where the judge hides the graders from student code. A plain install would copy the
#   hidden graders and the reference solutions into site-packages, which every worker can read.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DEBIAN_FRONTEND=noninteractive

HERE="$(pwd -P)"

# Python @FLOOR@ or newer, pyproject.toml's requires-python: the first of these that the image has
# (every pin of constraints.txt has a distribution for each, from @FLOOR@.0 on: Ubuntu 22.04's
# python@FLOOR@ package is @FLOOR@.0; tests/test_install.py checks), else any newer python3, else the
# distribution's python@FLOOR@ (Ubuntu 22.04's python3 is 3.10), else deadsnakes'.
# `setup.sh --which-python` prints the one it would use, or exits 3 where it would install one.
version_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < @FLOOR_TUPLE@)' >/dev/null 2>&1; }

PY=""
for candidate in @PYTHONS@ python3; do
    if command -v "$candidate" >/dev/null 2>&1 && version_ok "$(command -v "$candidate")"; then
        PY="$(command -v "$candidate")"
        break
    fi
done
if [ "${1:-}" = "--which-python" ]; then
    [ -n "$PY" ] && echo "$PY" && exit 0
    echo "none: setup.sh would install python@FLOOR@" >&2
    exit 3
fi
if [ -z "$PY" ]; then
    apt-get update -q
    if ! apt-get install -y -q python@FLOOR@ python@FLOOR@-venv; then
        apt-get install -y -q software-properties-common
        add-apt-repository -y ppa:deadsnakes/ppa
        apt-get update -q
        apt-get install -y -q python@FLOOR@ python@FLOOR@-venv
    fi
    PY="$(command -v python@FLOOR@)"
    version_ok "$PY" || { echo "setup.sh: $PY is older than Python @FLOOR@" >&2; exit 1; }
fi
if ! "$PY" -c 'import ensurepip' >/dev/null 2>&1; then      # Debian ships venv's pip separately
    apt-get update -q
    apt-get install -y -q "$(basename "$PY")-venv"
fi

"$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt --extra-index-url "@TORCH_INDEX@" \
    "torch==@TORCH@" -e '.[grading]'

# the environment is the pinned one, and the package every process imports is this folder's
.venv/bin/python - "@TORCH@" <<'PY'
import sys
import torch
assert torch.__version__.split("+")[0] == sys.argv[1], f"torch {torch.__version__}, pinned {sys.argv[1]}"
print(f"torch {torch.__version__} (CUDA build: {torch.version.cuda})")
PY
(cd / && "$HERE/.venv/bin/python" -s -c 'import autograder.cli; print("engine:", autograder.cli.__file__)') \
    | grep -F "engine: $HERE/autograder/"
