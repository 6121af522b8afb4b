"""Device discovery over a fake sysfs and fake tools (the real ones depend on the machine)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kiosk.devices.discovery import cameras, cups_queues, serial_ports, usb_printers


@dataclass
class Port:
    device: str
    vid: int | None
    pid: int | None
    description: str


def test_serial_ports_with_stable_names_and_suggestions(tmp_path: Path) -> None:
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    target = tmp_path / "ttyUSB0"
    target.write_text("")
    (by_id / "usb-1a86_USB_Serial-if00-port0").symlink_to(target)
    ports = [Port(str(target), 0x1A86, 0x7523, "USB Serial"), Port("/dev/ttyS0", None, None, "n/a")]
    found = serial_ports(lambda: ports, by_id)
    assert len(found) == 1  # the built-in UART is left out
    item = found[0]
    assert item.vid_pid == "1a86:7523" and "CH340" in item.description
    assert item.stable_path.endswith("usb-1a86_USB_Serial-if00-port0")
    assert f'port = "{item.stable_path}"' in item.suggestion and 'driver = "sam-serial"' in item.suggestion


def make_usb(root: Path, name: str, vid: str, pid: str, iface_class: str | None, product: str = "") -> Path:
    device = root / "bus" / "usb" / "devices" / name
    device.mkdir(parents=True)
    (device / "idVendor").write_text(vid + "\n")
    (device / "idProduct").write_text(pid + "\n")
    (device / "product").write_text(product)
    if iface_class:
        iface = device.parent / f"{name}:1.0"
        iface.mkdir()
        (iface / "bInterfaceClass").write_text(iface_class + "\n")
        os.symlink(iface, device / f"{name}:1.0")
    return device


def test_usb_printers_by_class_or_known_id(tmp_path: Path) -> None:
    make_usb(tmp_path, "1-1", "1fc9", "2016", "07", "POS80")
    make_usb(tmp_path, "1-2", "0416", "5011", None)
    make_usb(tmp_path, "1-3", "046d", "c52b", "03", "Mouse")
    found = {f.vid_pid: f for f in usb_printers(tmp_path)}
    assert set(found) == {"1fc9:2016", "0416:5011"}
    assert 'uri = "usb:1fc9:2016"' in found["1fc9:2016"].suggestion
    assert "Winbond" in found["0416:5011"].description


def test_cameras_skip_metadata_nodes_and_read_modes(tmp_path: Path) -> None:
    for name, index in (("video0", "0"), ("video1", "1")):
        entry = tmp_path / "class" / "video4linux" / name
        entry.mkdir(parents=True)
        (entry / "name").write_text("HD Webcam C270\n")
        (entry / "index").write_text(index + "\n")
    tool = tmp_path / "v4l2-ctl"
    tool.write_text(
        "#!/bin/sh\ncat <<'X'\n\t[0]: 'MJPG' (Motion-JPEG, compressed)\n\t\tSize: Discrete 1280x720\n"
        "\t\tSize: Discrete 640x480\n\t[1]: 'YUYV' (YUYV 4:2:2)\n\t\tSize: Discrete 640x480\nX\n"
    )
    tool.chmod(0o755)
    found = cameras(tmp_path, tmp_path / "dev", str(tool))
    assert [f.path for f in found] == [str(tmp_path / "dev" / "video0")]
    assert found[0].modes == ["MJPG 1280x720", "MJPG 640x480", "YUYV 640x480"]
    assert found[0].description == "HD Webcam C270"


def test_cups_queues_and_missing_tools(tmp_path: Path) -> None:
    tool = tmp_path / "lpstat"
    tool.write_text("#!/bin/sh\nprintf 'A4_Office\\nHP_LaserJet\\n'\n")
    tool.chmod(0o755)
    assert [f.path for f in cups_queues(str(tool))] == ["A4_Office", "HP_LaserJet"]
    assert cups_queues(str(tmp_path / "absent")) == []
    assert cameras(tmp_path / "nosys") == [] and usb_printers(tmp_path / "nosys") == []
