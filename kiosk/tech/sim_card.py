"""``kiosk-tech sim-card``: run the ID-card reader simulator alone on a pseudo-terminal.

For technicians and developers without a reader: it prints the port to use (``kiosk-tech read-card
--port PORT`` or a ``[devices.card_reader]`` config) and then serves until Ctrl-C. Lines on stdin
drive it: ``place KEY``, ``remove``, ``fault NAME [COUNT]``, ``status SW3HEX``, ``unplug``,
``replug``, ``cards`` (each card's key and its photo: ``demo`` is the simulated camera's demo
face, ``lfw:N`` someone else's, for trying a face check that must refuse), ``quit``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drivers.idcard.base import IdCard
    from drivers.idcard.simulator import SamSimulator

HELP = "commands: place KEY | remove | fault NAME [COUNT] | status SW3HEX | unplug | replug | cards | quit"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("sim-card", help="run the ID-card reader simulator on a pseudo-terminal")
    cmd.add_argument(
        "--card",
        help="key of the synthetic card on the reader at start (default: none); "
        "resident_other_face carries someone else's photo",
    )
    cmd.add_argument("--cards", type=Path, help="TOML file of synthetic cards (default: the bundled one)")
    cmd.add_argument("--link", type=Path, help="also make this symlink to the pty (stable across replug)")
    cmd.add_argument("--pace", action="store_true", help="send replies at the real wire rate")
    cmd.add_argument("--baud", type=int, default=115200, help="wire rate for --pace (default 115200)")
    cmd.set_defaults(func=run_sim_card)


def card_list(cards: dict[str, IdCard]) -> str:
    """One line per synthetic card: its key, name and photo (what the face check compares)."""
    from drivers.idcard.sim_photos import photo_name

    lines = []
    for key, card in cards.items():
        photo = photo_name(card.photo_wlt) or "none"
        note = (
            " (the demo face)"
            if photo == "demo"
            else " (someone else: the face check refuses)"
            if photo != "none"
            else ""
        )
        lines.append(f"{key}  {card.name or card.name_en}  photo={photo}{note}")
    return "\n".join(lines)


def _command(sim: SamSimulator, line: str) -> bool:
    """Apply one stdin command; False means quit."""
    words = line.split()
    if not words:
        return True
    verb, rest = words[0], words[1:]
    try:
        if verb == "quit":
            return False
        if verb == "place" and len(rest) == 1:
            sim.place(rest[0])
        elif verb == "remove":
            sim.remove()
        elif verb == "fault" and 1 <= len(rest) <= 2:
            sim.inject(rest[0], int(rest[1]) if len(rest) == 2 else 1)
        elif verb == "status" and len(rest) == 1:
            sim.inject("status", status=int(rest[0], 16))
        elif verb == "unplug":
            sim.unplug()
        elif verb == "replug":
            sim.replug()
            print(f"port {sim.port}", flush=True)
        elif verb == "cards":
            print(card_list(sim.cards), flush=True)
        else:
            print(HELP, file=sys.stderr)
            return True
    except (KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return True
    print("ok", flush=True)
    return True


def run_sim_card(args: argparse.Namespace) -> int:
    from drivers.idcard.simulator import DEFAULT_CARDS, SamSimulator, load_cards

    cards_file = args.cards or DEFAULT_CARDS
    try:
        cards = load_cards(cards_file)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: cannot load cards from {cards_file}: {exc}", file=sys.stderr)
        return 2
    if args.card and args.card not in cards:
        print(f"error: no card {args.card!r} in {cards_file} (have: {', '.join(cards)})", file=sys.stderr)
        return 2
    sim = SamSimulator(cards, card=args.card, pace=args.pace, baud=args.baud, link_path=args.link)
    with sim:
        print(f"port {sim.port}", flush=True)
        print(HELP, file=sys.stderr, flush=True)
        try:
            for line in sys.stdin:
                if not _command(sim, line):
                    return 0
            while True:  # stdin closed (e.g. run in the background): serve until interrupted
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0
    return 0
