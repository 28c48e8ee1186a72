# Shared helpers for scripts/run.sh and scripts/test.sh (sourced, not run).
# Works on a fresh Debian 12+/Ubuntu 24.04+ machine; apt is used only for what is missing.

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        return 1
    fi
}

# apt_install PKG...: install the Debian packages that are not installed yet.
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        warn "apt-get not found; install these yourself: ${missing[*]}"
        return 1
    fi
    log "Installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq || return 1
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" || return 1
}

# A Python 3.11+ interpreter: $PYTHON, else python3, else python3.13/3.12/3.11.
find_python() {
    local candidate
    for candidate in ${PYTHON:-} python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# ensure_venv: create .venv (installing python3-venv on Debian when needed).
ensure_venv() {
    if [ -x .venv/bin/python ] && .venv/bin/python -c 'import sys' 2>/dev/null; then
        return 0
    fi
    local py
    py="$(find_python)" || {
        apt_install python3 python3-venv || true
        py="$(find_python)" || die "Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)."
    }
    log "Creating .venv with $py"
    if ! "$py" -m venv .venv 2>/dev/null; then
        # Debian ships venv without ensurepip unless python3-venv is installed.
        rm -rf .venv
        local minor
        minor="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
        apt_install python3-venv || apt_install "python${minor}-venv" \
            || die "Cannot create a virtual environment: install python3-venv."
        "$py" -m venv .venv
    fi
}

# pip_install SPEC: install the project into .venv, skipped when pyproject.toml did
# not change since the last successful install with the same SPEC.
pip_install() {
    local spec="$1" stamp hash
    hash="$( (cat pyproject.toml; echo "$spec") | sha256sum | cut -c1-16)"
    stamp=".venv/.installed-$hash"
    if [ -f "$stamp" ] && [ -z "${FORCE_INSTALL:-}" ]; then
        return 0
    fi
    log "Installing Python packages ($spec)"
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    .venv/bin/python -m pip install -q -e "$spec"
    rm -f .venv/.installed-*
    touch "$stamp"
}

# build_assets: fetch the browser libraries (htmx) when npm is available.
build_assets() {
    if [ ! -f scripts/build_assets.sh ]; then
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        # Debian's npm brings nodejs with it; only asked for when no npm is on the PATH,
        # so a NodeSource or nvm installation is left alone.
        apt_install npm || true
    fi
    if ! command -v npm >/dev/null 2>&1; then
        warn "npm not found: static/vendor is not built; pages work without htmx enhancements."
        return 0
    fi
    if [ -z "${FORCE_ASSETS:-}" ] && [ -d static/vendor ] && [ -n "$(ls -A static/vendor 2>/dev/null)" ] \
        && [ static/vendor -nt frontend/package.json ]; then
        return 0
    fi
    log "Building browser assets"
    sh scripts/build_assets.sh || warn "building assets failed; continuing without them"
}
