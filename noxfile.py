"""Every test, lint and benchmark session. ``nox`` alone runs what CI runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "plugins", "elasticsearch_client8", "subject", "js",
                         "js_e2e", "jupyterlab", "report", "detect"]
nox.options.reuse_existing_virtualenvs = True

PLUGINS = ["kafka", "s3", "elasticsearch"]


@nox.session
def tests(session: nox.Session) -> None:
    """Core tests: EventLog, schemas, validation, privacy, consent (SQLite and a real
    PostgreSQL), sinks framework, file sink, CLI, docs examples, the Jupyter hooks
    against a real jupyter_server, kernel and JupyterHub (its proxy from npm), and the
    REST API (telemetry serve and jupyter_server subprocesses, schemathesis)."""
    session.install("-e", ".[test,jupyter,hub]", "ipykernel")
    proxy = _configurable_http_proxy(session)
    # The browser tests need the built client and Chromium: the js_e2e session runs them.
    session.run("pytest", "tests", "--ignore=tests/test_js_e2e.py",
                "--ignore=tests/test_subject_sinks.py", *session.posargs,
                env={"CONFIGURABLE_HTTP_PROXY": proxy})


def _configurable_http_proxy(session: nox.Session) -> str:
    """JupyterHub's proxy, installed from the npm registry into .nox/ (once)."""
    prefix = Path(session.virtualenv.location).parent / "_node" / "chp"
    command = prefix / "node_modules" / ".bin" / "configurable-http-proxy"
    if not command.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        session.run("npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                    "--loglevel=error", "configurable-http-proxy@5", external=True)
    return str(command)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over everything; mypy over the core and the plugin packages; import-linter's
    architecture contracts (layers, private modules, no cycles: pyproject.toml)."""
    session.install("-e", ".[test]", "ruff", "mypy", "types-PyYAML", "import-linter")
    session.run("ruff", "check", "telemetry_core", "tests", "bench", "plugins", "noxfile.py")
    session.run("mypy", "telemetry_core",
                *(f"plugins/telemetry-sink-{p}/telemetry_sink_{p}" for p in PLUGINS),
                "plugins/telemetry-report/telemetry_report",
                "plugins/telemetry-detect/telemetry_detect")
    session.run("lint-imports")


@nox.session
@nox.parametrize("plugin", PLUGINS)
def plugins(session: nox.Session, plugin: str) -> None:
    """A sink plugin's tests against a real server (the plugin matrix), once each."""
    path = f"plugins/telemetry-sink-{plugin}"
    session.install("-e", ".[test]", "-e", f"{path}[test]")
    session.run("pytest", f"{path}/tests", *session.posargs)


@nox.session
def detect(session: nox.Session) -> None:
    """Sigma detection (plugins/telemetry-detect): rules, check, hunt over files and S3
    (moto), export checked on the Elasticsearch emulator, the detect sink (alerts on a
    real Kafka topic), the Kafka consumer-group detector, and the end-to-end test with a
    real jupyter_server whose alert lands in the file sink and on a real Kafka topic, and
    logins from a new address in a real JupyterHub."""
    session.install("-e", ".[test,jupyter,hub]", "ipykernel", "-e", "plugins/telemetry-sink-s3",
                    "-e", "plugins/telemetry-sink-elasticsearch[test]",
                    "-e", "plugins/telemetry-sink-kafka[test]",
                    "-e", "plugins/telemetry-detect[test]")
    proxy = _configurable_http_proxy(session)
    session.run("pytest", "plugins/telemetry-detect/tests", *session.posargs,
                env={"CONFIGURABLE_HTTP_PROXY": proxy})


@nox.session
def elasticsearch_client8(session: nox.Session) -> None:
    """The Elasticsearch plugin with the 8.x client, which real 8.x clusters require."""
    path = "plugins/telemetry-sink-elasticsearch"
    session.install("-e", ".[test]", "-e", f"{path}[test,es8]")
    session.run("pytest", f"{path}/tests", *session.posargs)


@nox.session
def subject(session: nox.Session) -> None:
    """A person's rights (find, export, erase) across every sink type at once, against
    real servers: files, S3 (moto), Elasticsearch and Kafka (tests/test_subject_sinks.py)."""
    session.install("-e", ".[test]", *(f"-e./plugins/telemetry-sink-{p}[test]" for p in PLUGINS))
    session.run("pytest", "tests/test_subject_sinks.py", *session.posargs)


@nox.session(python=False)
def js(session: nox.Session) -> None:
    """The JavaScript client (js/): a clean install from package-lock.json, the build
    (dist/ is not committed), the unit tests on the built bundle, the bundle sizes."""
    session.chdir("js")
    session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
    session.run("npm", "test", external=True)
    session.run("npm", "run", "size", external=True)


@nox.session(python=False)
def js_browser(session: nox.Session) -> None:
    """The JavaScript client in Debian's chromium (apt-get install -y chromium first;
    skipped, not passed, without /usr/bin/chromium)."""
    session.chdir("js")
    session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
    session.run("npm", "run", "test:browser", external=True)


@nox.session
def js_e2e(session: nox.Session) -> None:
    """The JavaScript client end to end (tests/test_js_e2e.py): the built js/dist/index.js
    in Debian's chromium, on another origin than a real `telemetry serve`, and in Node.js.
    Fails, not skips, without /usr/bin/chromium (apt-get install -y chromium first)."""
    session.install("-e", ".[test]", "playwright")
    with session.chdir("js"):
        session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
        session.run("npm", "run", "build", external=True)
    session.run("pytest", "tests/test_js_e2e.py", *session.posargs,
                env={"TELEMETRY_REQUIRE_BROWSER": "1"})


@nox.session
def jupyterlab(session: nox.Session) -> None:
    """The JupyterLab / Notebook 7 extension and its classic notebook (nbclassic)
    extension (plugins/jupyterlab-telemetry): built from source (the JS client in js/
    first, then the labextension and the nbextension, by pip through the package's
    hatch_build.py, in a temporary copy: the checkout gains no node_modules), its unit
    tests in Node, and its tests in Python: installed and enabled, and the end-to-end
    tests in Debian's chromium against a real jupyter lab, jupyter notebook and jupyter
    nbclassic (apt-get install -y chromium first; they fail, not skip, without it)."""
    path = Path("plugins/jupyterlab-telemetry")
    session.install("-e", ".[test,jupyter]")
    for stale in ("lib", "jupyterlab_telemetry/labextension",  # build from source, always
                  "jupyterlab_telemetry/nbextension"):
        shutil.rmtree(path / stale, ignore_errors=True)
    # tsc's incremental record would otherwise skip files whose output was just removed
    (path / "tsconfig.tsbuildinfo").unlink(missing_ok=True)
    had_node_modules = {p: (p / "node_modules").exists() for p in (path, Path("js"))}
    session.install(f"./{path}[test]")
    for where, had in had_node_modules.items():
        if not had and (where / "node_modules").exists():
            session.error(f"pip install left {where / 'node_modules'} in the checkout")
    # The unit tests need the npm tree too: in a copy under .nox/, not in the checkout.
    copy = Path(session.create_tmp()) / "unit"
    shutil.rmtree(copy, ignore_errors=True)
    skip = shutil.ignore_patterns("node_modules", "lib", "dist", "labextension", "nbextension",
                                  "*.tsbuildinfo", "__pycache__")
    shutil.copytree("js", copy / "js", ignore=skip)
    shutil.copytree(path, copy / path, ignore=skip)
    session.run("npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error",
                "--prefix", str(copy / path), external=True)
    session.run("npm", "run", "build:client", "--prefix", str(copy / path), external=True)
    session.run("npm", "test", "--prefix", str(copy / path), external=True)
    session.run("pytest", str(path / "tests"), *session.posargs,
                env={"TELEMETRY_REQUIRE_BROWSER": "1"})


@nox.session
def report(session: nox.Session) -> None:
    """`telemetry report` (plugins/telemetry-report): every figure against an independent
    count over events the real EventLog and file sink wrote, small-group suppression, the
    S3 sink's objects read through DuckDB's httpfs on moto, and the page in Debian's
    chromium (it fails, not skips, without /usr/bin/chromium)."""
    session.install("-e", ".[test]", "-e", "plugins/telemetry-sink-s3",
                    "-e", "plugins/telemetry-report[test]", "playwright")
    session.run("pytest", "plugins/telemetry-report/tests", *session.posargs,
                env={"TELEMETRY_REQUIRE_BROWSER": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the peers, side by side in one run; prints ratio tables."""
    session.install("-e", ".[bench,test]",
                    *(f"-e./plugins/telemetry-sink-{p}[test]" for p in PLUGINS),
                    "-e./plugins/telemetry-report", "-e./plugins/telemetry-detect")
    session.run("python", "bench/run.py", *session.posargs)
