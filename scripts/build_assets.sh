#!/usr/bin/env sh
# Fetch the browser libraries from the npm registry and copy the files the
# templates use into static/vendor/ (gitignored: nothing third-party is committed).
# The pages still work without them; htmx only enhances forms and filters.
set -eu

ROOT="$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)"
FRONTEND="$ROOT/frontend"
VENDOR="$ROOT/static/vendor"

cd "$FRONTEND"
if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund
else
    npm install --no-audit --no-fund
fi

mkdir -p "$VENDOR"
cp "$FRONTEND/node_modules/htmx.org/dist/htmx.min.js" "$VENDOR/htmx.min.js"
echo "Copied htmx $(node -p "require('$FRONTEND/node_modules/htmx.org/package.json').version") to $VENDOR"
