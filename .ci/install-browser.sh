#!/usr/bin/env bash
# Install headless Chromium for tests/test_report.py (Debian/Ubuntu), quietly and only when
# no Chromium is on PATH yet. Needs root (or sudo). Run from .ci/run before the tests.
set -euo pipefail

for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then
        echo "browser: $(command -v "$name")"
        exit 0
    fi
done

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "install-browser: need root or sudo to install chromium" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# fonts-dejavu-core: the report's text renders the same with or without recommended fonts
"${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "browser: $(command -v chromium)"
