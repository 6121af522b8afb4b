"""``kiosk-tech config check``: validate a site configuration the way the kiosk does at start,
production mode's refusals included (kiosk/config/production.py), and the site's override of the
service catalogue beside it (kiosk/services/site_overrides.py)."""

from __future__ import annotations

import argparse
import json

from kiosk.config.model import load_config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = sub.add_parser("config", help="check or create a site configuration")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION")
    config_sub.required = True
    check = config_sub.add_parser("check", help="validate the configuration, one line per problem")
    check.add_argument("--config", metavar="FILE", help="site file (default: $KIOSK_CONFIG or /etc/kiosk)")
    check.add_argument("--json", action="store_true", help="print the effective configuration as JSON")
    check.set_defaults(func=run_check)
    from kiosk.tech.config_init import add_init_command

    add_init_command(config_sub)


def run_check(args: argparse.Namespace) -> int:
    # with production mode's refusals, as the kiosk checks at start; ConfigError -> one line per
    # problem, exit 2 (kiosk.tech.main)
    config = load_config(args.config, production=True)
    from kiosk.errors import CatalogueError, ConfigError, ConfigProblem
    from kiosk.services.catalogue import Catalogue
    from kiosk.services.site_overrides import find_overrides

    services = find_overrides(config.source)  # the site's fees, windows and lists, checked as at start
    try:
        Catalogue.load(site=services)
    except CatalogueError as exc:
        raise ConfigError([ConfigProblem(str(services), "", str(exc))]) from exc
    if args.json:
        print(json.dumps(config.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        source = config.source or "packaged defaults"
        print(f"config ok: {source} (kiosk {config.kiosk.id}, mode {config.kiosk.mode})")
        if services is not None:
            print(f"services ok: {services} (the site's fees, windows and lists)")
    return 0
