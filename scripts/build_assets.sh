#!/usr/bin/env sh
# Fetch the browser libraries from the npm registry and copy the files the
# templates use into static/vendor/ (gitignored: nothing third-party is committed).
# The pages still work without them: htmx only enhances forms and filters, and
# without pdf.js papers open in the browser's own PDF viewer.
set -eu

ROOT="$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)"
FRONTEND="$ROOT/frontend"
VENDOR="$ROOT/static/vendor"
MODULES="$FRONTEND/node_modules"

cd "$FRONTEND"
if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund
else
    npm install --no-audit --no-fund
fi

version() { node -p "require('$MODULES/$1/package.json').version"; }

rm -rf "$VENDOR"
mkdir -p "$VENDOR/pdfjs"
cp "$MODULES/htmx.org/dist/htmx.min.js" "$VENDOR/htmx.min.js"
# pdf.js: the "legacy" build runs on the older tablet browsers too. Standard fonts
# draw PDFs that do not embed theirs; the wasm decoders read JPEG 2000 scans.
PDFJS="$MODULES/pdfjs-dist"
cp "$PDFJS/legacy/build/pdf.min.mjs" "$PDFJS/legacy/build/pdf.worker.min.mjs" "$VENDOR/pdfjs/"
cp -r "$PDFJS/standard_fonts" "$PDFJS/wasm" "$VENDOR/pdfjs/"
cp "$PDFJS/LICENSE" "$VENDOR/pdfjs/LICENSE"
echo "Copied htmx $(version htmx.org) and pdf.js $(version pdfjs-dist) to $VENDOR"
