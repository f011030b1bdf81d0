"""``telemetry token mint``: a signed user token, from the collector's own config."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

_TTL = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``telemetry token mint`` to the CLI."""
    token = subparsers.add_parser(
        "token", help="mint signed user tokens for telemetry serve",
        description="Signed, short-lived user tokens (docs/rest-api.md, Trust model).")
    actions = token.add_subparsers(dest="action", metavar="ACTION", required=True)
    mint = actions.add_parser(
        "mint", help="print a user token for --user, valid for --ttl",
        description="Print a user token signed with c.TelemetryServer.user_tokens' key "
                    "(HS256), or with --private-key for an asymmetric algorithm.")
    mint.add_argument("--user", required=True, help="the user id the token proves")
    mint.add_argument("--ttl", default="1h", help="lifetime: 90s, 15m, 1h, 1d (default 1h)")
    mint.add_argument("--config", metavar="FILE", help="the collector's config file")
    mint.add_argument("--private-key", metavar="PEM",
                      help="the private key file (RS256, ES256, EdDSA: the collector has the "
                           "public one)")
    mint.add_argument("--role", action="append", default=[], choices=["consent-admin"],
                      help="a role the token gives its user")
    mint.set_defaults(func=run_mint)


def parse_ttl(text: str) -> float:
    """Seconds in ``90s``, ``15m``, ``1h``, ``1d`` (or a bare number of seconds)."""
    found = _TTL.match(text.strip())
    if found is None or float(found.group(1)) <= 0:
        raise ValueError("--ttl: a positive duration such as 90s, 15m, 1h or 1d")
    return float(found.group(1)) * _UNIT[found.group(2)]


def run_mint(args: argparse.Namespace) -> int:
    """Print the token (only the token, so that ``$(telemetry token mint ...)`` works)."""
    from traitlets.config import Config

    from .._config import load_config_file
    from ._settings import TelemetryServer
    from ._user_tokens import DEFAULT_AUDIENCE, mint_user_token

    config = load_config_file(args.config) if args.config else Config()
    settings = dict(TelemetryServer(config=config).user_tokens)
    if not settings:
        raise ValueError("no c.TelemetryServer.user_tokens in --config: the token would be "
                         "signed with a key the collector does not know")
    algorithm = str(settings.get("algorithm", "HS256"))
    if args.private_key:
        key = Path(args.private_key).expanduser().read_text()
    elif algorithm.startswith("HS"):
        from ._user_tokens import _read_key

        key = _read_key(settings, "TelemetryServer.user_tokens")
    else:
        raise ValueError(f"{algorithm} tokens are signed with the private key: pass "
                         "--private-key FILE")
    token = mint_user_token(args.user, key=key, ttl=parse_ttl(args.ttl), algorithm=algorithm,
                            audience=str(settings.get("audience", DEFAULT_AUDIENCE)),
                            issuer=settings.get("issuer"), roles=args.role)
    sys.stdout.write(token + "\n")
    return 0
