#!/usr/bin/env bash
# npm run test:electron — the real-Electron suite (e2e/electron-app.spec.ts) in one command, on a
# machine where `npm install` downloaded Electron. It builds the app, then runs the suite:
#   Linux: under Xvfb when there is no display, and in a private D-Bus session with a throwaway
#          unlocked gnome-keyring, so your own keyring is never touched;
#   macOS and Windows: as is (keychain entries go under the test service name "Dictumal e2e …").
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/electron/path.txt ]; then
  echo "Electron is not installed (was ELECTRON_SKIP_BINARY_DOWNLOAD set?). Run: npm install electron" >&2
  exit 1
fi
npx electron-vite build --logLevel warn
export DICTUMAL_KEYCHAIN_SERVICE="Dictumal e2e $$"
suite=(npx playwright test e2e/electron-app.spec.ts "$@")

if [ "$(uname -s)" != Linux ]; then
  exec "${suite[@]}"
fi

display=()
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  command -v xvfb-run >/dev/null || { echo "No display and no xvfb-run: install Xvfb (Debian/Ubuntu: sudo apt install xvfb)." >&2; exit 1; }
  display=(xvfb-run -a -s "-screen 0 1366x900x24")
fi
if command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
  keyring_home="$(mktemp -d)"
  trap 'rm -rf "$keyring_home"' EXIT
  export XDG_DATA_HOME="$keyring_home"
  exec "${display[@]}" dbus-run-session -- bash -c '
    printf %s dictumal-e2e | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    exec "$@"' bash "${suite[@]}"
fi
echo "Note: no dbus-run-session/gnome-keyring-daemon; the suite uses your session keyring under \"$DICTUMAL_KEYCHAIN_SERVICE\"." >&2
exec "${display[@]}" "${suite[@]}"
