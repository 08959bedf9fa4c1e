# Sourced by bin/run and bin/test: make .venv hold exactly what uv.lock pins, for this Python.
#   venv_sync [--extra dev]
# - A .venv made by another Python version is rebuilt (said so).
# - Installs only when uv.lock, the extras or the Python changed since the last install (a stamp
#   in .venv), so a second start installs nothing and needs no network.
# - uv itself (pinned below) is installed into .venv by pip the first time.
UV_VERSION=0.13.8

venv_sync() {
  local python=${PYTHON:-python3} want have key stamp=.venv/.casestudy-installed
  want=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') || {
    echo "Cannot run $python: set PYTHON to a Python 3.11, 3.12 or 3.13" >&2; return 1; }
  case "$want" in 3.11|3.12|3.13) ;; *)
    echo "Python $want is not supported: use 3.11, 3.12 or 3.13 (PYTHON=...)" >&2; return 1;;
  esac
  if [ -x .venv/bin/python ]; then
    have=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo broken)
    if [ "$have" != "$want" ]; then
      echo "Rebuilding .venv: it was made with Python $have, and $python is $want."
      rm -rf .venv
    fi
  fi
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
  fi
  key="$(sha256sum uv.lock | cut -c1-16) python$want $*"
  if [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]; then
    return 0
  fi
  echo "Installing the locked dependencies into .venv (Python $want) ..."
  if [ "$(.venv/bin/uv --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" \
      2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  fi
  # --locked: refuse a uv.lock that no longer matches pyproject.toml; --inexact: keep pip and uv;
  # --compile-bytecode: every later start reads .pyc files (where PYTHONDONTWRITEBYTECODE is set,
  # Python would otherwise compile all of Django and spaCy again on each start).
  UV_PROJECT_ENVIRONMENT=.venv UV_PYTHON_DOWNLOADS=never \
    .venv/bin/uv sync --locked --inexact --compile-bytecode --quiet --python .venv/bin/python "$@"
  echo "$key" > "$stamp"
}
