"""Screenshots of the replay and people pages for the docs, at 1366x900 and at phone width (390x844).

    .venv/bin/python scripts/screenshots.py                 # writes docs/screenshots/*.png
    .venv/bin/python scripts/screenshots.py --out /tmp/shots

Drives the real stack as the walk test does (tests/test_review_walk.py): a private one (bench/stack.py:
embedded PostgreSQL and Redis in a temporary folder, Daphne, one worker with the vision models), a new
account signed up through the page, the shared Hamilton clip uploaded through the page and analysed.
The shared media shows real public figures and must not be republished (see the shared data's README):
before each screenshot every video and face picture is blurred by an injected style, checked on each
element, while face boxes, names and charts stay sharp. Needs /usr/bin/chromium and the shared media
($EMOTION_DATA_DIR/media, default ../shared/data/media). About a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stack import Stack  # noqa: E402

CLIP = "short_hamilton_clip.mp4"
PASSWORD = "correct-horse-battery-9"
WIDTHS = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run"]
# Faces only ever appear in the video and in <img> (thumbnails, track faces); the overlay canvas draws boxes
# and names only, so it stays sharp.
BLUR = "video, img { filter: blur(14px) !important; }"
ALL_BLURRED = """() => [...document.querySelectorAll('video, img')]
  .every((el) => getComputedStyle(el).filter.includes('blur(14px)'))"""
# The frame to show: the one with the largest stored face box (the singer's close-up).
BIGGEST_FACE = """async () => {
  const root = document.getElementById('replay');
  const r = await fetch(`/api/sessions/${root.dataset.session}/timeline/?max_points=1000&boxes=1`);
  const rows = (await r.json()).boxes.rows;
  const area = ([, , top, right, bottom, left]) => (right - left) * (bottom - top);
  return rows.reduce((best, row) => (area(row) > area(best) ? row : best), rows[0])[0];
}"""
SEEK = """async (t) => {
  const v = document.getElementById('replay-video');
  v.muted = true;
  v.currentTime = t + 0.05;
  await new Promise((r) => v.addEventListener('seeked', r, { once: true }));
}"""


def media_dir() -> Path:
    return Path(os.environ.get("EMOTION_DATA_DIR") or ROOT.parent / "shared" / "data") / "media"


def sign_up_and_upload(page, base: str, clip: Path) -> str:
    """A new account, the clip uploaded through the page; the session page's URL once analysed."""
    import re

    page.goto(f"{base}/accounts/signup/")
    page.fill("#id_username", "reviewer")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_selector("text=No sessions yet")
    page.goto(f"{base}/sessions/new/")
    page.fill("input[name=title]", "Hamilton (shared test clip)")
    page.set_input_files("input[name=file]", str(clip))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/sessions/\d+/$"), timeout=300_000)
    for _ in range(120):  # the replay shows once the playable copy is made (after the analysis, one worker)
        if page.locator("#replay").count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    return page.url


def shoot(page, path: Path) -> int:
    """Blur every video and face picture, check that it took, and save a 256-colour PNG; its size."""
    from PIL import Image

    page.add_style_tag(content=BLUR)
    page.wait_for_function("() => [...document.images].every((i) => i.complete)")
    if not page.evaluate(ALL_BLURRED):
        raise RuntimeError(f"{page.url}: a video or picture is not blurred; nothing saved")
    shot = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
    shot.quantize(colors=256).save(path, optimize=True)  # UI colours and blurred video fit in a palette
    return path.stat().st_size


def take(base: str, clip: Path, out: Path) -> list[tuple[Path, int]]:
    from playwright.sync_api import sync_playwright

    saved = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            # the injected blur is a <style> element, which the site's Content-Security-Policy refuses
            context = browser.new_context(bypass_csp=True, device_scale_factor=1)
            page = context.new_page()
            page.set_default_timeout(30_000)
            session_url = sign_up_and_upload(page, base, clip)
            for label, size in WIDTHS.items():
                page.set_viewport_size(size)
                page.goto(session_url)
                page.wait_for_selector("#replay[data-ready='1']")
                page.wait_for_function("() => document.getElementById('replay-video').readyState >= 2")
                page.evaluate(SEEK, page.evaluate(BIGGEST_FACE))
                page.wait_for_function("() => document.getElementById('replay-overlay').dataset.boxes")
                saved.append((out / f"replay-{label}.png", shoot(page, out / f"replay-{label}.png")))
                page.goto(f"{base}/people/")
                saved.append((out / f"people-{label}.png", shoot(page, out / f"people-{label}.png")))
        finally:
            browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    clip = media_dir() / CLIP
    if not clip.is_file():
        sys.exit(f"shared media not found: {clip} (set EMOTION_DATA_DIR to the data folder)")
    if not Path(CHROMIUM).exists():
        sys.exit(f"Chromium not found at {CHROMIUM} (install Debian's chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="emotion-shots-") as tmp, Stack(Path(tmp), warmup=False) as stack:
        saved = take(stack.base, clip, args.out)
    for path, size in saved:
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
