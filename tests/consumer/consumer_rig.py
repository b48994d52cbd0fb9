"""Helpers of the consumer suite (tests/consumer): paths, timing, npm steps, the server
client and a page wrapper. Fixtures are in conftest.py, tests in test_consumer.py."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PKG = Path(os.environ.get("P2P_PROBE_PKG_DIR") or REPO / "pkg").resolve()  # as www/build.mjs
ARTIFACTS = HERE / "artifacts"
PACK_DIR = REPO / "target" / "consumer-pack"
TARBALL = PACK_DIR / "p2p-probe.tgz"  # the file: dependency of every consumer package.json
PROJECTS = ("vite", "esbuild", "webpack")
# Extra npm scripts a project runs after `build` (test-only entries, not part of the recipe).
EXTRA_BUILDS = {"esbuild": ("build:lifecycle",)}
EXPECTED_DIST = {
    "vite": ("index.html",),
    "esbuild": ("index.html", "main.js", "lifecycle.html", "lifecycle.js"),
    "webpack": ("index.html", "main.js"),
}
NPM_INSTALL = ["npm", "install", "--no-package-lock", "--no-audit", "--no-fund",
               "--prefer-offline", "--loglevel=error"]
sys.path.insert(0, str(REPO / "tests" / "support"))
# the real server and the Chromium flags, shared with tests/e2e
from server_rig import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server  # noqa: E402,F401

# ---------------------------------------------------------------- timings / report

TIMINGS: list[tuple[str, float, str]] = []
REPORT: list[str] = []  # extra lines for the end-of-run summary (lifecycle checks)
_T0 = time.monotonic()


@contextmanager
def timed(label: str, note: str = ""):
    t = time.monotonic()
    entry = [label, 0.0, note]
    try:
        yield entry
    finally:
        TIMINGS.append((entry[0], time.monotonic() - t, entry[2]))


# ---------------------------------------------------------------- helpers

def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class StepFailed(Exception):
    pass


def run(cmd: list[str], cwd: Path, timeout: float) -> str:
    try:
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise StepFailed(f"`{' '.join(cmd)}` in {cwd.relative_to(REPO)} timed out after {timeout} s:\n"
                         f"{(e.stdout or '')[-4000:] if isinstance(e.stdout, str) else ''}") from None
    if p.returncode != 0:
        raise StepFailed(f"`{' '.join(cmd)}` in {cwd.relative_to(REPO)} exited with {p.returncode}:\n"
                         f"{p.stdout[-6000:]}")
    return p.stdout


def pack() -> str:
    """npm pack pkg/ -> TARBALL; returns its sha256 (npm pack is deterministic: fixed mtimes)."""
    if not (PKG / "package.json").exists():
        pytest.fail("pkg/ is not built (pkg/package.json missing): run `bash scripts/build_pkg.sh`",
                    pytrace=False)
    PACK_DIR.mkdir(parents=True, exist_ok=True)
    for f in PACK_DIR.glob("*.tgz"):
        f.unlink()
    out = run(["npm", "pack", str(PKG), "--pack-destination", str(PACK_DIR), "--json", "--silent"],
              REPO, 120)
    info = json.loads(out)[0]
    (PACK_DIR / info["filename"]).rename(TARBALL)
    files = sorted(f["path"] for f in info["files"])
    REPORT.append(f"  packed {info['name']}@{info['version']}: {len(files)} files, "
                  f"{info['size']} B -> {TARBALL.relative_to(REPO)}")
    return sha256(TARBALL)


def install(project: Path, tar_sha: str) -> str:
    """npm install unless node_modules/.consumer-stamp says it already holds this package.json
    and this tarball (and the installed wasm is pkg/'s). Returns what it did."""
    nm = project / "node_modules"
    stamp = nm / ".consumer-stamp"
    want = json.dumps({"package.json": sha256(project / "package.json"), "p2p-probe.tgz": tar_sha})
    installed_wasm = nm / "p2p-probe" / "p2p_probe_bg.wasm"
    pkg_wasm_sha = sha256(PKG / "p2p_probe_bg.wasm")
    if (stamp.exists() and stamp.read_text() == want and installed_wasm.exists()
            and sha256(installed_wasm) == pkg_wasm_sha):
        return "skipped (stamp matches)"
    cold = not nm.exists()
    stamp.unlink(missing_ok=True)
    # the tarball changes under the same name: drop the old copy so npm unpacks the new one
    shutil.rmtree(nm / "p2p-probe", ignore_errors=True)
    run(NPM_INSTALL, project, 900)
    if not installed_wasm.exists() or sha256(installed_wasm) != pkg_wasm_sha:
        raise StepFailed(f"{installed_wasm.relative_to(REPO)} is not pkg/p2p_probe_bg.wasm after npm install")
    stamp.write_text(want)
    return "cold install" if cold else "reinstalled (package.json or tarball changed)"


def check_dist(name: str, dist: Path) -> None:
    missing = [f for f in EXPECTED_DIST[name] if not (dist / f).is_file()]
    if missing:
        raise StepFailed(f"{dist.relative_to(REPO)} lacks {missing}; has {sorted(p.name for p in dist.rglob('*'))}")
    wasm = [p for p in dist.rglob("*.wasm")]
    if len(wasm) != 1:
        raise StepFailed(f"expected exactly one .wasm under {dist.relative_to(REPO)}, found {wasm}")
    if wasm[0].read_bytes() != (PKG / "p2p_probe_bg.wasm").read_bytes():
        raise StepFailed(f"{wasm[0].relative_to(REPO)} differs from pkg/p2p_probe_bg.wasm")



class Page:
    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"[pageerror] {e}"))

    def log(self) -> str:
        return "\n".join(self.console[-40:]) or "(no console output)"

    def wait_for(self, expr: str, what: str, timeout_ms: float = 15000) -> None:
        try:
            self.page.wait_for_function(expr, timeout=timeout_ms)
        except Exception as e:  # playwright TimeoutError
            pytest.fail(f"{what}: {self.page.url} did not get there in {timeout_ms / 1000:.0f} s "
                        f"({type(e).__name__})\nbrowser console:\n{self.log()}", pytrace=False)


