"""Fixtures for the consumer suite: the packed tarball, the three consumer projects
(npm install / tsc --noEmit / bundle), the real server and two Chromium processes.

* ``tarball`` (session): ``npm pack pkg/`` -> target/consumer-pack/p2p-probe.tgz (fails, never
  skips, when pkg/ is not built).
* ``built`` (session): ``built(name)`` installs (skipped when node_modules matches its stamp),
  type-checks and bundles tests/consumer/<name>/ once per session, returns its dist/ path;
  a failure is cached and re-raised for every test that needs that project.
* ``server`` (session): server/app.py on a free 127.0.0.1 port (log: tests/consumer/artifacts/).
* ``open_page`` (function): ``open_page(i, path)`` opens ``path`` of the server in Chromium
  process ``i`` (0 or 1): the two peers of a probe always live in different processes.

Every step is timed; the table is printed at the end of the run (``consumer timings``).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from consumer_rig import (ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, EXTRA_BUILDS, HERE, REPORT,
                          TIMINGS, Page, StepFailed, _T0, check_dist, install, pack, run, start_server,
                          stop_server, timed)


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS and not REPORT:
        return
    tr = terminalreporter
    tr.section("consumer timings")
    for label, secs, note in TIMINGS:
        tr.write_line(f"  {label:<44} {secs:7.1f} s  {note}")
    tr.write_line(f"  {'whole session':<44} {time.monotonic() - _T0:7.1f} s")
    for line in REPORT:
        tr.write_line(line)


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def tarball() -> str:
    with timed("npm pack pkg/"):
        return pack()


@pytest.fixture(scope="session")
def built(tarball):
    done: dict[str, Path | StepFailed] = {}

    def _built(name: str) -> Path:
        if name not in done:
            project = HERE / name
            try:
                with timed(f"{name}: npm install") as t:
                    t[2] = install(project, tarball)
                with timed(f"{name}: tsc --noEmit (strict)"):
                    run(["npm", "run", "--silent", "typecheck"], project, 300)
                dist = project / "dist"
                shutil.rmtree(dist, ignore_errors=True)
                with timed(f"{name}: npm run build"):
                    run(["npm", "run", "--silent", "build"], project, 300)
                for script in EXTRA_BUILDS.get(name, ()):
                    with timed(f"{name}: npm run {script}"):
                        run(["npm", "run", "--silent", script], project, 300)
                check_dist(name, dist)
                done[name] = dist
            except StepFailed as e:
                done[name] = e
        result = done[name]
        if isinstance(result, StepFailed):
            pytest.fail(f"consumer project {name!r} did not build:\n{result}", pytrace=False)
        return result

    return _built


@pytest.fixture(scope="session")
def server():
    with timed("server start"):
        srv = start_server(ARTIFACTS / "server.log")
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def contexts():
    """Two separate Chromium processes (Playwright, Debian's /usr/bin/chromium), one context each."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.exit(f"{CHROMIUM} not found (apt-get install chromium)", returncode=3)
    with sync_playwright() as p:
        with timed("launch 2 Chromium processes"):
            browsers = [p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                        for _ in range(2)]
            ctxs = [b.new_context() for b in browsers]
        yield ctxs
        for b in browsers:
            b.close()


@pytest.fixture
def open_page(server, contexts):
    pages: list[Page] = []

    def _open(i: int, path: str) -> Page:
        p = Page(contexts[i].new_page())
        pages.append(p)
        p.page.goto(server.base_url + path)
        return p

    yield _open
    for p in pages:
        try:
            p.page.close()
        except Exception:
            pass
