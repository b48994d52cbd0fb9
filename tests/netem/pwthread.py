"""Sync Playwright in a thread of its own.

Only one sync Playwright can live in a thread: once the e2e session fixture
(tests/e2e/conftest.py ``playwright_instance``) is up in the main thread, a second
``sync_playwright()`` there fails with "using Playwright Sync API inside the asyncio loop".
`pytest tests` runs tests/e2e first, so the tests here keep their own Playwright in a
worker thread and call into it:

    pwt = PlaywrightThread()
    browser = pwt.call(lambda: pwt.pw.chromium.launch(...))
    pwt.call(page.evaluate, "1 + 1")
    pwt.stop()
"""

from concurrent.futures import ThreadPoolExecutor


class PlaywrightThread:
    def __init__(self):
        self._ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        self.pw = None
        self.pw = self.call(self._start)

    @staticmethod
    def _start():
        from playwright.sync_api import sync_playwright
        return sync_playwright().start()

    def call(self, fn, *args, **kwargs):
        """Run fn(*args, **kwargs) in the Playwright thread and return its result."""
        return self._ex.submit(fn, *args, **kwargs).result()

    def stop(self):
        try:
            if self.pw is not None:
                self.call(self.pw.stop)
        finally:
            self.pw = None
            self._ex.shutdown(wait=True)


def in_own_thread(fn, *args, **kwargs):
    """Run fn in a fresh thread (fn may use sync_playwright() itself) and return its result."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright") as ex:
        return ex.submit(fn, *args, **kwargs).result()
