# Sourced by ./run and ./test: make .venv with the project (and its test extras) installed, once per change.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  python3 -m venv "$VENV"
fi
STAMP="$VENV/.complaintflow-installed"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  echo "==> installing Python dependencies"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT[test]"
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
# Front-end assets (bpmn-js viewer, axe-core for the browser tests) from npm, bundled locally: no CDN.
FRONTEND="$ROOT/frontend"
ASSETS="$ROOT/app/web/static/build"
if [ ! -f "$FRONTEND/node_modules/.package-lock.json" ] \
   || [ "$FRONTEND/package-lock.json" -nt "$FRONTEND/node_modules/.package-lock.json" ]; then
  echo "==> installing the front-end packages (npm ci in frontend/)"
  npm ci --prefix "$FRONTEND" --silent --no-audit --no-fund
fi
if [ ! -f "$ASSETS/.built" ] || [ -n "$(find "$FRONTEND/package-lock.json" "$FRONTEND/build.mjs" "$FRONTEND/src" \
      "$ROOT/app/web/static/js" -newer "$ASSETS/.built" -print -quit)" ]; then
  echo "==> building the front-end assets into app/web/static/build/"
  node "$FRONTEND/build.mjs"
fi
# Translation catalogs (app/translations/*/LC_MESSAGES/messages.po, English is the source): compiled here, never
# committed (.mo files are git-ignored). Recompiled when a .po is newer than its .mo.
if [ -n "$(find "$ROOT/app/translations" -name '*.po' -print | while read -r po; do
      [ "$po" -nt "${po%.po}.mo" ] && echo "$po"; done)" ]; then
  echo "==> compiling the translation catalogs"
  pybabel -q compile -d "$ROOT/app/translations"
fi
