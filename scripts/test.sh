#!/usr/bin/env bash
# Install everything the test suite needs (inside this clone) and run every test.
#
#   .venv         core + torch (CPU) + TRL + Ray + Parquet + test tools: most tests
#   .venvs/verl     core + verl (it pins an older transformers than TRL needs)
#   .venvs/trl-old  core + the oldest TRL unireward[trl] claims (0.20.0)
#   .venvs/sam2     core + torch/torchvision + SAM2 (a different torch build)
#
# UNIREWARD_REQUIRE names the trainer packages each run must have: a trainer contract test
# whose package is missing there fails instead of skipping.
#
# Usage: bash scripts/test.sh [extra pytest args for the main run]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 RAY_AUTH_MODE=disabled HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
TEST_TOOLS=(pytest pytest-xdist "hypothesis>=6.100" mathruler==0.1.0 tqdm "requests>=2.31" aiohttp pyyaml "jiwer>=3.0")
step() { printf '\n==> %s\n' "$*"; }

step "main environment (.venv)"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e ".[trl,ray,parquet,masks,testing,server]" "${TEST_TOOLS[@]}" ruff mypy

step "verl environment (.venvs/verl)"
[ -x .venvs/verl/bin/python ] || "$PY" -m venv .venvs/verl
.venvs/verl/bin/pip install -q torch==2.13.0
.venvs/verl/bin/pip install -q "verl[verl-core]==0.9.1" -e . "${TEST_TOOLS[@]}"

step "oldest TRL environment (.venvs/trl-old)"
[ -x .venvs/trl-old/bin/python ] || "$PY" -m venv .venvs/trl-old
.venvs/trl-old/bin/pip install -q torch==2.13.0
.venvs/trl-old/bin/pip install -q "trl==0.20.0" "transformers<4.57" -e . "${TEST_TOOLS[@]}"

step "SAM2 environment (.venvs/sam2)"
[ -x .venvs/sam2/bin/python ] || "$PY" -m venv .venvs/sam2
.venvs/sam2/bin/pip install -q torch==2.14.1 torchvision==0.29.1
SAM2_BUILD_CUDA=0 .venvs/sam2/bin/pip install -q --no-build-isolation sam2==1.1.0
.venvs/sam2/bin/pip install -q -e ".[masks,server]" "${TEST_TOOLS[@]}"

# The report's browser tests read the DOM that headless Chromium builds. With CI=true a
# browser that cannot be installed stops the run here (the tests would fail anyway).
if ! command -v chromium >/dev/null 2>&1; then
  step "headless Chromium (for the HTML report tests)"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  if ! ($SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
     || ! command -v chromium >/dev/null 2>&1; then
    if [ "${CI:-}" = true ]; then
      echo "cannot install chromium with apt-get: the report's browser tests need it" >&2
      exit 1
    fi
    echo "chromium not installed: the report's browser tests will skip"
  fi
fi

step "lint and types"
.venv/bin/ruff check src tests benchmarks examples
.venv/bin/mypy src/unireward

step "tests: main environment"
# the verl and SAM2 test files run in their own environments below (here they could only skip)
VERL_TESTS=(tests/integrations/test_verl.py tests/integrations/test_verl_contract.py)
ELSEWHERE=("${VERL_TESTS[@]}"
           tests/masks/test_sam2_predictor.py tests/masks/test_sam2_prompts.py
           tests/masks/test_sam2_service.py tests/masks/test_mask_reward_sam2.py
           tests/masks/test_serve_sam2_cli.py)
for f in "${ELSEWHERE[@]}"; do [ -f "$f" ] || { echo "scripts/test.sh: no such test file: $f" >&2; exit 1; }; done
UNIREWARD_REQUIRE=trl .venv/bin/python -m pytest -p no:cacheprovider -n 2 \
  "${ELSEWHERE[@]/#/--ignore=}" "$@"

# pytest exits 5 when nothing was collected (an area with no tests of its own yet)
run_pytest() { "$@" || { rc=$?; [ "$rc" = 5 ] || exit "$rc"; }; }

step "tests: verl"
UNIREWARD_REQUIRE=verl run_pytest .venvs/verl/bin/python -m pytest -p no:cacheprovider -q -m "not gpu" "${VERL_TESTS[@]}"

step "tests: oldest TRL"
UNIREWARD_REQUIRE=trl run_pytest .venvs/trl-old/bin/python -m pytest -p no:cacheprovider -q -m "not trl_async" tests/integrations/test_trl_contract.py

step "tests: SAM2"
# here a missing sam2 or torch fails the SAM2 tests instead of skipping them
UNIREWARD_REQUIRE_SAM2=1 run_pytest .venvs/sam2/bin/python -m pytest -p no:cacheprovider -q tests/masks

step "all tests passed"
