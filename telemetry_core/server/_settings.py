"""``TelemetryServer``: the REST API's configuration (``c.TelemetryServer.*``).

The same settings serve ``telemetry serve`` and the jupyter_server extension; those
that only make sense standalone (tokens, host, port, processes, CORS) say so.
"""

from __future__ import annotations

from traitlets import Any, Bool, Dict, Enum, Float, Int, List, Unicode

from .._config import StrictConfigurable

DEFAULT_PORT = 8585


class TelemetryServer(StrictConfigurable):
    """Settings of the REST API (see docs/rest-api.md for what each one bounds)."""

    tokens = Dict(
        value_trait=Any(), config=True,
        help="""Standalone: client tokens by client name, {"lab-portal": "<token>"}. A value
        "sha256:<hex>" holds the token's SHA-256 instead of the token (better: the config
        then holds no secret). Each client's name is its token's key. The plain form gives
        no role: the client may not name users (a 403 if it tries). Roles are given as
        {"token": "...", "roles": ["name-users", "consent-admin"]}: "name-users" for a
        trusted server-side application that says which user an event is about,
        "consent-admin" to read and change other users' consent.""")
    user_tokens = Dict(
        config=True,
        help="""Standalone: accept signed user tokens (JWT) as 'Authorization: Bearer'.
        {"key": "<HS256 secret, 32+ bytes>"} or {"algorithm": "RS256"|"ES256"|"EdDSA",
        "key_file": "<PEM public key>"}; optional "audience" ("telemetry"), "issuer",
        "leeway" (30 s of clock skew), "max_ttl" (86400 s), "client" (the label in
        __source__.client, "user-token"). Mint with `telemetry token mint`.""")
    oidc = Dict(
        config=True,
        help="""Standalone: accept OIDC access tokens: {"issuer": "...", "audience": "..."};
        optional "jwks_url" (else from the issuer's discovery document), "user_claim"
        ("sub"), "algorithms" (["RS256", "ES256"]), "leeway" (30), "jwks_cache_seconds"
        (300), "client" ("oidc"), "admin_users" (users with the consent-admin role).""")
    hub_auth = Bool(
        False, config=True,
        help="""Standalone, run as a JupyterHub service: accept Hub users (their API token,
        or the service's OAuth cookie) through jupyterhub.services.auth.HubOAuth; the API
        also answers under $JUPYTERHUB_SERVICE_PREFIX. Hub admins are consent admins.""")
    consent_history_limit = Int(
        100, config=True,
        help="GET consent: most decisions in one answer (the rest through ?before=).")
    insecure_no_auth = Bool(
        False, config=True,
        help="Standalone: serve without tokens (every request is client 'anonymous').")
    allow_no_schemas = Bool(
        False, config=True,
        help="""Standalone: start even though c.EventLog.allowed_schemas is empty (every event
        is then answered 'not allowed'). Off: such a collector refuses to start.""")
    host = Unicode("127.0.0.1", config=True, help="Standalone: the address to listen on.")
    port = Int(DEFAULT_PORT, config=True, help="Standalone: the port to listen on.")
    processes = Int(
        1, config=True,
        help="Standalone: processes to fork (0: one per CPU); each has its own spool slot.")
    allowed_origins = List(
        Unicode(), config=True,
        help="""Standalone: browser origins allowed to call the API (CORS), e.g.
        ["https://lab.example.org"]; "*" allows any. Nothing by default.""")
    max_body_bytes = Int(1 << 20, config=True, help="Largest request body (413 above).")
    max_events_per_request = Int(
        1000, config=True, help="Most events in one POST events request (413 above).")
    max_event_bytes = Int(
        None, allow_none=True, config=True,
        help="""Deprecated: set EventLog.max_event_size, the one bound of every event
        however it arrives (set, this still sets it, with a warning).""")
    max_event_depth = Int(
        None, allow_none=True, config=True,
        help="""Deprecated: set EventLog.max_event_depth, the one bound of every event
        however it arrives (set, this still sets it, with a warning).""")
    rate_limit = Float(
        10_000.0, config=True,
        help="Requests per second per client (a token bucket; 429 with Retry-After above).")
    rate_burst = Int(
        20_000, config=True, help="Requests a client may send at once before rate_limit applies.")
    client_rate_limits = Dict(
        value_trait=Float(), config=True,
        help="Requests per second for named clients, overriding rate_limit.")
    dedup_max_ids = Int(
        100_000, config=True,
        help="Client event ids remembered per client, to answer 'duplicate' to a re-send.")
    dedup_seconds = Float(
        600.0, config=True, help="How long a client event id is remembered.")
    dedup_store = Unicode(
        "", config=True,
        help="""Where remembered client event ids are kept, so that a re-send after a restart,
        or to another worker process, is answered 'duplicate': "" (default) a SQLite file
        $XDG_STATE_HOME/telemetry/rest/recent-ids-PORT.sqlite3 shared by the collector's
        processes; a path (collectors on one machine that name the same file share it);
        or "memory" (each process remembers its own, forgotten on restart).""")
    acknowledgement = Enum(
        ["queued", "durable"], "queued", config=True,
        help="""What a 2xx to POST events means: "queued" (in every sink's queue) or
        "durable" (delivered or spooled to disk: the sinks are flushed before answering).""")
    durable_timeout = Float(
        30.0, config=True,
        help="Durable acknowledgement: seconds to wait for the sinks before answering 503.")
    record_client_ip = Bool(
        False, config=True,
        help="Put the client's IP address (personal data) in __source__.ip. Off by default.")
    metrics = Bool(True, config=True, help="Standalone: serve GET /metrics (Prometheus).")
