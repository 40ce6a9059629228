"""`grok-imagine-api generate --hd`: the job asks for Grok's HD upscale, and the HD file is saved beside the
video as <name>.hd.mp4 (the demo worker uploads its clip again as the HD file)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import DEMO_MP4, demo_worker, process_server


def test_generate_hd_saves_the_video_and_its_hd_file(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("GROK_IMAGINE_")}
    (tmp_path / "server").mkdir()
    with process_server(tmp_path / "server") as server, demo_worker(server.url):
        result = subprocess.run(
            [sys.executable, "-m", "grok_imagine_api.cli", "generate", "a cat", "--hd", "--server", server.url],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
    assert result.returncode == 0, result.stderr
    video, hd = result.stdout.split()
    assert hd == video.removesuffix(".mp4") + ".hd.mp4"
    assert (tmp_path / video).read_bytes() == DEMO_MP4 == (tmp_path / hd).read_bytes()
