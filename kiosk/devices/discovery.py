"""Find the devices plugged into a terminal and suggest configuration lines for them.

Serial ports come from pyserial (with their stable ``/dev/serial/by-id`` names), cameras from
V4L2's sysfs entries, USB receipt printers from the USB printer interface class (07), CUPS queues
from ``lpstat``. Every source is optional: a missing tool or folder means "none found", never a
crash, because technicians run this on half-installed machines.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# USB-serial bridges that ID-card readers and serial receipt printers are built on
USB_SERIAL_BRIDGES = {
    "1a86:7523": "CH340 USB-serial",
    "1a86:55d4": "CH9102 USB-serial",
    "10c4:ea60": "CP210x USB-serial",
    "0403:6001": "FTDI FT232 USB-serial",
    "067b:2303": "Prolific PL2303 USB-serial",
}
# USB receipt printers seen in Chinese service halls (printer class 07 is detected regardless)
KNOWN_PRINTERS = {
    "0416:5011": "Winbond-based POS-58/80 thermal printer",
    "0483:5720": "STM-based thermal printer (Xprinter and others)",
    "04b8:0202": "Epson TM series receipt printer",
    "28e9:0289": "GD32-based thermal printer",
}


@dataclass(frozen=True)
class Found:
    kind: str  # serial | camera | usb_printer | cups_queue
    path: str
    stable_path: str = ""
    vid_pid: str = ""
    description: str = ""
    modes: list[str] = field(default_factory=list)
    suggestion: str = ""  # config lines for kiosk.toml

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _by_id_names(folder: Path) -> dict[str, str]:
    """Real device path -> stable symlink in ``folder`` (e.g. /dev/serial/by-id)."""
    names: dict[str, str] = {}
    if folder.is_dir():
        for link in sorted(folder.iterdir()):
            try:
                names[str(link.resolve())] = str(link)
            except OSError:
                continue
    return names


def serial_ports(
    comports: Callable[[], Iterable[Any]] | None = None, by_id: Path = Path("/dev/serial/by-id")
) -> list[Found]:
    if comports is None:
        from serial.tools import list_ports

        comports = list_ports.comports
    stable = _by_id_names(by_id)
    found = []
    for port in comports():
        vid_pid = f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None and port.pid is not None else ""
        if not vid_pid and not str(port.device).startswith(("/dev/ttyUSB", "/dev/ttyACM")):
            continue  # built-in UARTs without anything known behind them
        stable_path = stable.get(str(Path(port.device).resolve()), "")
        bridge = USB_SERIAL_BRIDGES.get(vid_pid, "")
        description = " · ".join(p for p in (bridge, port.description or "") if p and p != "n/a")
        path = stable_path or port.device
        suggestion = (
            "[devices.card_reader]\n"
            'driver = "sam-serial"\n'
            f'port = "{path}"\n'
            f"# or, if this is the receipt printer:\n"
            f'# [devices.printer]\n# driver = "escpos"\n# uri = "serial:{path}?baud=115200"'
        )
        found.append(Found("serial", port.device, stable_path, vid_pid, description, suggestion=suggestion))
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def cameras(sysfs: Path = Path("/sys"), dev: Path = Path("/dev"), v4l2_ctl: str | None = None) -> list[Found]:
    found: list[Found] = []
    root = sysfs / "class" / "video4linux"
    if not root.is_dir():
        return found
    stable = _by_id_names(dev / "v4l" / "by-id")
    for entry in sorted(root.iterdir()):
        if _read(entry / "index") not in ("", "0"):
            continue  # metadata nodes: only the first node of a camera captures
        node = dev / entry.name
        usb = (entry / "device").resolve().parent if (entry / "device").exists() else None
        vid_pid = ""
        if usb is not None and (usb / "idVendor").exists():
            vid_pid = f"{_read(usb / 'idVendor')}:{_read(usb / 'idProduct')}"
        modes = _camera_modes(str(node), v4l2_ctl)
        path = stable.get(str(node), str(node))
        suggestion = f'[devices.camera]\ndriver = "opencv"\ndevice = "{path}"\nwidth = 1280\nheight = 720'
        found.append(
            Found(
                "camera",
                str(node),
                stable.get(str(node), ""),
                vid_pid,
                _read(entry / "name"),
                modes,
                suggestion,
            )
        )
    return found


def _camera_modes(node: str, v4l2_ctl: str | None) -> list[str]:
    tool = v4l2_ctl or shutil.which("v4l2-ctl")
    if not tool:
        return []
    try:
        out = subprocess.run(
            [tool, "-d", node, "--list-formats-ext"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    modes, fmt = [], ""
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("[") and "'" in line:
            fmt = line.split("'")[1]
        elif line.startswith("Size: Discrete"):
            modes.append(f"{fmt} {line.split()[-1]}")
    return sorted(set(modes))


def usb_printers(sysfs: Path = Path("/sys")) -> list[Found]:
    found: list[Found] = []
    root = sysfs / "bus" / "usb" / "devices"
    if not root.is_dir():
        return found
    for device in sorted(root.iterdir()):
        vendor, product = _read(device / "idVendor"), _read(device / "idProduct")
        if not vendor:
            continue
        vid_pid = f"{vendor}:{product}"
        interfaces = [i for i in device.glob(f"{device.name}:*") if _read(i / "bInterfaceClass") == "07"]
        if not interfaces and vid_pid not in KNOWN_PRINTERS:
            continue
        description = KNOWN_PRINTERS.get(vid_pid) or " ".join(
            p for p in (_read(device / "manufacturer"), _read(device / "product")) if p
        )
        suggestion = f'[devices.printer]\ndriver = "escpos"\nuri = "usb:{vendor}:{product}"'
        found.append(
            Found(
                "usb_printer", str(device), "", vid_pid, description or "USB printer", suggestion=suggestion
            )
        )
    return found


def cups_queues(lpstat: str | None = None) -> list[Found]:
    tool = lpstat or shutil.which("lpstat")
    if not tool:
        return []
    try:
        out = subprocess.run([tool, "-e"], capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [
        Found(
            "cups_queue",
            name,
            description="CUPS queue",
            suggestion=f'[devices.a4_printer]\ndriver = "cups"\nqueue = "{name}"',
        )
        for name in (line.strip() for line in out.splitlines())
        if name
    ]


def discover() -> list[Found]:
    """Everything this machine has that the kiosk could use."""
    found: list[Found] = []
    try:
        found += serial_ports()
    except (ImportError, OSError) as exc:  # no pyserial, or no /dev access: report the rest
        log.warning("serial ports could not be listed: %s", exc)
    found += cameras()
    found += usb_printers()
    found += cups_queues()
    return found


def group_readable(path: str) -> bool:
    """Whether the current user may open ``path`` (udev rule and group membership in place)."""
    return os.access(path, os.R_OK | os.W_OK)
