"""A screenshot of the Study page's charts for the README, from synthetic observations (no video, no face).

    .venv/bin/python scripts/study_screenshot.py            # writes docs/screenshots/study-1366.png

A private stack without workers (bench/stack.py: embedded PostgreSQL and Redis, Daphne); the project is
bench/bench_study.py's synthetic one, smaller (8 sessions of 2 minutes), with a "beep" marker per session.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stack import Stack  # noqa: E402

PASSWORD = "correct-horse-battery-9"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run"]


def build() -> None:
    """In the stack's environment: the synthetic project, markers, and a password for its owner."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emotionsite.settings")
    import django

    django.setup()
    from bench.bench_study import build as build_study
    from sessions_app.models import Marker, Session

    user, project, _ = build_study(8, 2)
    user.set_password(PASSWORD)
    user.save()
    for session in Session.objects.filter(project=project):
        Marker.objects.create(session=session, author=user, time=60.3, note="beep")
    print(project.pk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "study-1366.png")
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        return build()
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="emotion-study-") as tmp, Stack(Path(tmp), workers=[], warmup=False) as st:
        out = subprocess.run(
            [sys.executable, __file__, "--build"], env=st.env, cwd=ROOT, capture_output=True, text=True
        )
        if out.returncode:
            sys.exit(out.stderr[-2000:])
        project = out.stdout.strip().splitlines()[-1]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.goto(f"{st.base}/accounts/login/")
            page.fill("#id_username", "bench-study")
            page.fill("#id_password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_selector("#session-list")
            page.goto(f"{st.base}/projects/{project}/study/")
            page.wait_for_selector("#study-compare[data-ready='1']")
            shot = page.locator("#study-compare").screenshot()
            browser.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.open(io.BytesIO(shot)).convert("RGB").quantize(colors=256).save(args.out, optimize=True)
    print(f"{args.out}  {args.out.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
