"""Headless Chromium from Debian's packages, driven by selenium through Debian's chromedriver.

`make test` installs both (`make browser`); nothing here downloads a browser or a driver.
"""

import os
import tempfile
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

# Flags that work on this kind of machine (root, no GPU, no network).
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def start_chromium(width: int = 1400, height: int = 1000, offline: bool = False) -> webdriver.Chrome:
    """A fresh headless Chromium with its own profile; `offline` sends every non-loopback request nowhere."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Chromium or chromedriver is missing: `make browser` installs Debian's chromium, chromium-driver")
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager must never try to download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='agentledger-chromium-')}")
    options.add_argument(f"--window-size={width},{height}")
    if offline:
        # a proxy on the discard port: any request that leaves the machine fails
        options.add_argument("--proxy-server=127.0.0.1:9")
        options.add_argument("--proxy-bypass-list=<-loopback>")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def save_full_page(driver: webdriver.Chrome, name: str, width: int = 1400) -> Path:
    """Screenshot the whole page (the window grows to the page's height) under tests/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, max(height, 600))
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path
