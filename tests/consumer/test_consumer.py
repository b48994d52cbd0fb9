"""From `npm install` to a working probe, the way a new user gets there, with three bundlers.

Each of tests/consumer/{vite,esbuild,webpack} is a tiny project that depends on the PACKED
package (target/consumer-pack/p2p-probe.tgz, from `npm pack pkg/`), socket.io-client 4 and
TypeScript 5; its src/main.ts is the usage recipe of RECIPES.md. For each project:

* test_build: npm install (skipped when node_modules matches its stamp), `tsc --noEmit` with
  "strict" and no skipLibCheck, the bundler's build, and dist/ holds the page and pkg/'s wasm;
* test_probe: the real server serves dist/ under /consumer/<name>/; two pages in two Chromium
  processes attach a manager each and one probe runs between them through POST /api/probe:
  on_complete gets a number and each page's onResult runs exactly once, with success.

test_lifecycle (esbuild project, second entry src/lifecycle.ts): the not-initialised error and
disposal (`using`, free(), close() after free()); see that file.

Run: .venv/bin/python -m pytest tests/consumer   (timings are printed at the end)
"""
from __future__ import annotations

import time
import uuid

import pytest

from consumer_rig import PROJECTS, REPORT, timed

LIFECYCLE_CHECKS = (  # every check src/lifecycle.ts records, in order
    "attachProbeManager before init() throws ProbeError not_initialized",
    "configure before init() throws ProbeError not_initialized",
    "new ProbeConnection before init() throws ProbeError not_initialized",
    "no socket handlers left by the calls before init()",
    "isProbeError is false for a plain Error, null and a string",
    "attachProbeManager subscribes one handler per event",
    "a `using` block leaves zero socket handlers",
    "a second manager subscribes again",
    "free() does not throw",
    "free() leaves zero socket handlers",
    "close() after free() does not throw",
    "zero socket handlers at the end",
)


def is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


@pytest.mark.parametrize("name", PROJECTS)
def test_build(name, built):
    built(name)


@pytest.mark.parametrize("name", PROJECTS)
def test_probe(name, built, server, open_page):
    built(name)
    tag = uuid.uuid4().hex[:6]
    a, b = f"{name}-a-{tag}", f"{name}-b-{tag}"
    with timed(f"{name}: open 2 pages, wait ready"):
        pages = {a: open_page(0, f"/consumer/{name}/index.html?subject={a}"),
                 b: open_page(1, f"/consumer/{name}/index.html?subject={b}")}
        for subject, p in pages.items():
            p.wait_for("() => window.__ready === true || window.__error !== undefined",
                       f"{name} page {subject} never became ready")
            error = p.page.evaluate("() => window.__error ?? null")
            assert error is None, f"{name} page {subject}: {error}\nbrowser console:\n{p.log()}"
        server.wait_subjects(a, b)

    with timed(f"{name}: one probe (POST /api/probe)") as t:
        r = server.probe(a, b, timeout=15)
        t[2] = f"rtt_ms={r.get('rtt_ms')}"
    logs = "\n".join(f"--- {s}:\n{p.log()}" for s, p in pages.items())
    assert r["completed"], f"on_complete did not run within 15 s: {r}\n{logs}"
    assert is_number(r["rtt_ms"]), f"on_complete got rtt_ms={r['rtt_ms']!r} ({r.get('rtt_ms_type')})\n{logs}"
    pid = r["probe_session_id"]

    for subject, p in pages.items():
        p.wait_for("() => window.__results.length >= 1", f"{name} page {subject}: onResult never ran", 10000)
    time.sleep(0.5)  # a duplicate result would arrive right after the first
    for subject, p in pages.items():
        results = p.page.evaluate("() => window.__results")
        assert len(results) == 1, f"{name} page {subject}: onResult ran {len(results)} times: {results}"
        res = results[0]
        assert res["probe_session_id"] == pid, f"{name} page {subject}: {res}"
        assert res["success"] is True, f"{name} page {subject}: failed probe: {res}\n{p.log()}"
        assert is_number(res["rtt_ms"]), f"{name} page {subject}: {res}"

    wire = server.probe_results(pid)
    senders = sorted(w["from_subject_id"] for w in wire)
    assert senders == sorted([a, b]), f"probe_result messages on the wire: {wire}"


def test_lifecycle(built, server, open_page):
    built("esbuild")
    with timed("esbuild: lifecycle checks"):
        p = open_page(0, "/consumer/esbuild/lifecycle.html")
        p.wait_for("() => window.__done === true", "lifecycle.html never finished (module failed to load?)")
        checks = p.page.evaluate("() => window.__checks")
        error = p.page.evaluate("() => window.__error ?? null")

    by_name = {c["name"]: c for c in checks}
    lines = ["  lifecycle checks (tests/consumer/esbuild/src/lifecycle.ts):"]
    failed = []
    for name in LIFECYCLE_CHECKS:
        c = by_name.get(name)
        if c is None:
            status, detail = "NOT RUN", ""
        else:
            status, detail = ("pass" if c["ok"] else "FAIL"), c["detail"]
        if status != "pass":
            failed.append(name)
        lines.append(f"    {status:<7} {name}" + (f"  [{detail}]" if detail else ""))
    unknown = [c["name"] for c in checks if c["name"] not in LIFECYCLE_CHECKS]
    if unknown:
        lines.append(f"    (unlisted checks: {unknown})")
    if error:
        lines.append(f"    aborted by: {error}")
    REPORT.extend(lines)
    report = "\n".join(lines)
    assert not failed and not error and not unknown, f"{len(failed)} lifecycle check(s) failed:\n{report}\n" \
                                                     f"browser console:\n{p.log()}"


def test_package_readme_carries_the_tested_recipes():
    """The npm README's bundler recipes are RECIPES.md's, word for word (scripts/build_pkg.sh
    inserts them), and the projects built above run those lines."""
    import re

    from consumer_rig import HERE, PKG

    recipes = (HERE / "RECIPES.md").read_text()
    readme = (PKG / "README.md").read_text()
    blocks = re.findall(r"```[a-z]*\n(.*?)```", recipes, re.S)
    assert len(blocks) >= 6, blocks
    missing = [b for b in blocks if b not in readme]
    assert not missing, f"pkg/README.md lacks these RECIPES.md blocks: {missing}"
    src = {n: (HERE / n / "src" / "main.ts").read_text() for n in PROJECTS}
    assert "import wasmUrl from 'p2p-probe/p2p_probe_bg.wasm';" in src["esbuild"]
    assert "await init({ module_or_path: wasmUrl });" in src["esbuild"]
    for n in ("vite", "webpack"):
        assert "\n  await init();\n" in src[n], n
    for n in PROJECTS:
        assert "import init, { attachProbeManager" in src[n] and "from 'p2p-probe';" in src[n], n
