"""Prerequisites of the link/relay tests: skip only when not root, FAIL loudly as root.

CI runs as root, so a missing tool there must show up as a failure, never as a quiet skip:

    from prereq import require
    @pytest.fixture(autouse=True, scope="module")
    def _prereqs():
        require(namespaces=True, chromium=True, playwright=True)

Not root -> pytest.skip (a developer's non-root run); root -> pytest.fail naming every
missing piece. Relay tests that need no root (coturn on 127.0.0.1 in the root namespace)
use the same rule, so CI fails when coturn is missing.
"""

import importlib.util
import os
import shutil

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TURNSERVER = os.environ.get("TURNSERVER", "/usr/bin/turnserver")
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def missing(namespaces=False, chromium=False, playwright=False, coturn=False, pkg=False):
    """List of human-readable missing prerequisites (empty = all there)."""
    out = []
    if namespaces:
        if not os.path.exists("/dev/net/tun"):
            out.append("/dev/net/tun")
        for tool in ("ip", "chrt"):
            if shutil.which(tool) is None:
                out.append("%s (iproute2/util-linux)" % tool)
    if chromium and not os.path.exists(CHROMIUM):
        out.append("%s (apt-get install chromium)" % CHROMIUM)
    if playwright and importlib.util.find_spec("playwright") is None:
        out.append("the Python package playwright (run the tests with .venv/bin/python)")
    if coturn and not os.path.exists(TURNSERVER):
        out.append("%s (apt-get install coturn)" % TURNSERVER)
    if pkg:
        for f in ("pkg/p2p_probe.js", "pkg/p2p_probe_bg.wasm"):
            if not os.path.exists(os.path.join(REPO, f)):
                out.append("%s (bash scripts/build_pkg.sh)" % f)
    return out


def require(needs_root=True, **what):
    """Skip when not root; as root, fail (never skip) when anything in `what` is missing.

    needs_root=False: the test itself runs without root; still, as root (CI) a missing
    prerequisite fails, and without root it skips."""
    import pytest

    lacking = missing(**what)
    if os.geteuid() != 0:
        if needs_root:
            pytest.skip("needs root (network namespaces); CI runs as root")
        if lacking:
            pytest.skip("missing: " + ", ".join(lacking))
        return
    if lacking:
        pytest.fail("running as root but prerequisites are missing: " + ", ".join(lacking)
                    + " (scripts/setup.sh installs them)", pytrace=False)
