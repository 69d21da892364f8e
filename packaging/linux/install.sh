#!/bin/sh
# Install the unpacked Linux bundle like a desktop app: the program, its menu entry, its icons.
#
#   ./install.sh               for you alone: ~/.local/lib/encedo-authenticator, ~/.local/bin,
#                              ~/.local/share/{applications,icons,metainfo}
#   sudo ./install.sh          for everyone: /opt/encedo-authenticator and /usr/local
#   ./install.sh --uninstall   remove what the same command installed
#
# PREFIX (where bin/ and share/ go) and DEST (where the bundle is copied) can be set in the
# environment. Nothing else is touched; the app's own data (pairings, settings, logs) stays.
set -eu

APP_ID=com.encedo.Authenticator
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" = 0 ]; then
    PREFIX=${PREFIX:-/usr/local}
    DEST=${DEST:-/opt/encedo-authenticator}
else
    PREFIX=${PREFIX:-$HOME/.local}
    DEST=${DEST:-$PREFIX/lib/encedo-authenticator}
fi
SHARE=$PREFIX/share
SIZES="16 22 24 32 48 64 128 256 512"

refresh() {
    command -v update-desktop-database >/dev/null 2>&1 \
        && update-desktop-database -q "$SHARE/applications" 2>/dev/null || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 \
        && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" 2>/dev/null || true
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$PREFIX/bin/authenticator" "$SHARE/applications/$APP_ID.desktop" \
        "$SHARE/metainfo/$APP_ID.metainfo.xml"
    for size in $SIZES; do
        rm -f "$SHARE/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
    done
    rm -f "$SHARE/icons/hicolor/scalable/apps/$APP_ID"*.svg
    rm -rf "$DEST"
    refresh
    echo "Removed Encedo Authenticator from $DEST and $PREFIX."
    exit 0
fi

[ -x "$HERE/authenticator" ] || { echo "Run install.sh from the unpacked bundle." >&2; exit 1; }
case "$DEST" in
    *[!A-Za-z0-9._/-]*) echo "DEST must be a plain path (letters, digits, . _ - /)." >&2; exit 1 ;;
esac

if [ "$HERE" != "$DEST" ]; then
    rm -rf "$DEST"
    mkdir -p "$DEST"
    cp -a "$HERE/." "$DEST/"
fi
DATA=$DEST/_internal/authenticator/resources/data

mkdir -p "$PREFIX/bin" "$SHARE/applications" "$SHARE/metainfo" "$SHARE/icons/hicolor/scalable/apps"
ln -sf "$DEST/authenticator" "$PREFIX/bin/authenticator"
sed -e "s|^Exec=authenticator|Exec=$DEST/authenticator|" -e "s|^TryExec=authenticator|TryExec=$DEST/authenticator|" \
    "$DATA/$APP_ID.desktop" > "$SHARE/applications/$APP_ID.desktop"
cp "$DATA/$APP_ID.metainfo.xml" "$SHARE/metainfo/"
for size in $SIZES; do
    mkdir -p "$SHARE/icons/hicolor/${size}x${size}/apps"
    cp "$DATA/icons/hicolor/${size}x${size}/apps/$APP_ID.png" "$SHARE/icons/hicolor/${size}x${size}/apps/"
done
cp "$DATA/icons/hicolor/scalable/apps/$APP_ID"*.svg "$SHARE/icons/hicolor/scalable/apps/"
refresh
echo "Installed Encedo Authenticator in $DEST; start it from your menu or with $PREFIX/bin/authenticator."
