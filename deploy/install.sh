#!/bin/sh
# Put the terminal's deploy/ files in place and lock the machine down (docs/deployment.md):
# the systemd unit, the X server flags and input classes, SysRq off, Ctrl+Alt+Del masked, the
# folders with their owners and modes. Run as root from the checkout, after `adduser` (step 1):
#
#     sh deploy/install.sh
#
# ROOT=DIR installs into that tree instead (an image being built; the tests): the same files
# and modes, but no owners (the tree's users are not this machine's) and none of the commands
# that act on the running system. KIOSK_USER names the service user (default kiosk).
# Safe to run again after an upgrade: it only (re)places files and modes.
set -eu

ROOT=${ROOT:-}
KIOSK_USER=${KIOSK_USER:-kiosk}
HERE=$(cd "$(dirname "$0")" && pwd)

own() {  # chown OWNER PATH..., on the running system only
    [ -n "$ROOT" ] || chown "$@"
}

install -d -m 0755 "$ROOT/etc/systemd/system" "$ROOT/etc/systemd/system.conf.d" \
    "$ROOT/etc/X11/xorg.conf.d" "$ROOT/etc/sysctl.d" "$ROOT/etc/logrotate.d"

# The data folder (outbox with photos, sessions, the audit log) and the logs: the kiosk user's
# alone. The unit's UMask=0077 keeps every file the app creates in them private too.
install -d -m 0700 "$ROOT/var/lib/kiosk" "$ROOT/var/log/kiosk"
own "$KIOSK_USER:$KIOSK_USER" "$ROOT/var/lib/kiosk" "$ROOT/var/log/kiosk"

# The site configuration: written by root (a technician with a shell), only read by the kiosk.
install -d -m 0750 "$ROOT/etc/kiosk"
own "root:$KIOSK_USER" "$ROOT/etc/kiosk"
for file in "$ROOT"/etc/kiosk/*; do
    [ -f "$file" ] || continue
    own "root:$KIOSK_USER" "$file"
    chmod 0640 "$file"
done

install -m 0644 "$HERE/systemd/police-kiosk.service" "$ROOT/etc/systemd/system/police-kiosk.service"
install -m 0644 "$HERE/systemd/90-police-kiosk-manager.conf" \
    "$ROOT/etc/systemd/system.conf.d/90-police-kiosk.conf"
install -m 0644 "$HERE/x11/10-kiosk-lockdown.conf" "$ROOT/etc/X11/xorg.conf.d/10-kiosk-lockdown.conf"
install -m 0644 "$HERE/sysctl/90-police-kiosk.conf" "$ROOT/etc/sysctl.d/90-police-kiosk.conf"
install -m 0644 "$HERE/logrotate/police-kiosk" "$ROOT/etc/logrotate.d/police-kiosk"
# the kiosk user's X session (its home is the data folder)
install -m 0700 "$HERE/x11/xinitrc" "$ROOT/var/lib/kiosk/.xinitrc"
own "$KIOSK_USER:$KIOSK_USER" "$ROOT/var/lib/kiosk/.xinitrc"

# Ctrl+Alt+Del must not reboot the terminal: exactly what `systemctl mask` does, offline too.
ln -sfn /dev/null "$ROOT/etc/systemd/system/ctrl-alt-del.target"

if [ -z "$ROOT" ]; then
    sysctl --system >/dev/null        # SysRq off now, not only after the next boot
    systemctl daemon-reload
    systemctl daemon-reexec           # the manager reads CtrlAltDelBurstAction
fi
echo "installed; next: write /etc/kiosk/kiosk.toml, then systemctl enable --now police-kiosk"
