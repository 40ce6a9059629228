from __future__ import annotations

import io

from grok_imagine_api.terminal import (
    Progress,
    age,
    elapsed,
    fields_text,
    job_fields,
    jobs_lines,
    jobs_table,
    printable,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def job(**fields: object) -> dict[str, object]:
    return {"id": "job_1", "status": "pending", "progress": 0, "created": 1000, "prompt": "a cat", **fields}


def test_durations() -> None:
    assert [elapsed(s) for s in (0, 59.9, 61, 3600 + 62)] == ["0:00", "0:59", "1:01", "1:01:02"]
    assert [age(s) for s in (-3, 5, 60, 7200, 3 * 86400)] == ["0s", "5s", "1m", "2h", "3d"]


def test_a_log_gets_one_line_per_change() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(out, tty=False, clock=clock)
    progress.show("queued")
    progress.show("queued")
    clock.now += 2
    progress.show("processing", 25)
    progress.show("processing", 25)
    progress.show("processing", 50)
    for done in (100, 200, 300):
        progress.downloading(done, 2_500_000)
    progress.done("saved")
    assert out.getvalue().splitlines() == [
        "[0:00] queued",
        "[0:02] processing 25%",
        "[0:02] processing 50%",
        "[0:02] downloading 2.5 MB",
        "[0:02] saved",
    ]


def test_a_terminal_gets_one_line_redrawn() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(out, tty=True, clock=clock)
    progress.show("processing", 50)
    clock.now += 1
    progress.downloading(500_000, 1_000_000)
    progress.note("the server is back")
    progress.done("saved")
    bar = "[" + "#" * 12 + "." * 12 + "]"
    first = f"{bar} processing 50%  0:00"
    second = f"{bar} downloading 0.5 MB of 1.0 MB  0:01"
    assert out.getvalue() == (f"\r{first}\r{second}\n[0:01] the server is back\n\r[{'#' * 24}] saved  0:01\n")


def test_the_table_fits_the_prompt_into_the_width() -> None:
    jobs = [
        job(id="job_a", status="processing", progress=45, prompt="a cat\nplaying piano " * 10),
        job(id="job_bb", status="failed", error_code="moderated", created=400),
    ]
    table = jobs_table(jobs, width=60, now=1030)
    assert table.splitlines() == [
        "ID      STATUS              PROGRESS  AGE  MEDIA  PROMPT",
        "job_a   processing          45%       30s  video  a cat pla…",
        "job_bb  failed (moderated)  0%        10m  video  a cat",
    ]
    assert max(len(line) for line in table.splitlines()) == 60


def test_piped_jobs_are_whole_and_tab_separated() -> None:
    jobs = [
        job(id="job_a", status="processing", progress=45, prompt="a cat\tplaying\npiano " * 10),
        job(id="job_bb", status="failed", error_code="moderated", created=1764115200, prompt="\x1b]0;x\x07a dog"),
    ]
    assert jobs_lines(jobs).splitlines() == [
        "job_a\tprocessing\t45%\t1970-01-01T00:16:40Z\t" + " ".join(["a cat playing piano"] * 10) + "\tvideo",
        "job_bb\tfailed (moderated)\t0%\t2025-11-26T00:00:00Z\t?]0;x?a dog\tvideo",
    ]


def test_a_detail_is_shown_but_is_no_new_line_in_a_log() -> None:
    out, clock = io.StringIO(), Clock()
    log = Progress(out, tty=False, clock=clock)
    log.show("queued: no worker has taken it yet", None, "for 5s")
    clock.now += 1
    log.show("queued: no worker has taken it yet", None, "for 6s")
    assert out.getvalue() == "[0:00] queued: no worker has taken it yet (for 5s)\n"

    out = io.StringIO()
    Progress(out, tty=True, clock=clock).show("queued: no worker has taken it yet", None, "for 6s")
    assert out.getvalue() == f"\r[{'.' * 24}] queued: no worker has taken it yet (for 6s)  0:00"


def test_one_jobs_fields() -> None:
    fields = dict(job_fields(job(status="failed", error="Content Moderated", error_code="moderated"), now=1060))
    assert fields["status"] == "failed (moderated)"
    assert fields["error"] == "moderated: Content Moderated"
    assert fields["created"].endswith("(1m ago)")
    assert fields["claimed"] == "-"
    assert fields["options"] == "(the page's defaults)"
    assert fields["video"] == "-"
    assert fields_text([("id", "job_1"), ("status", "pending")]) == "id:     job_1\nstatus: pending"


def test_what_was_asked_what_changed_and_why_a_job_waits() -> None:
    adjusted = {
        "param": "seconds",
        "requested": "8",
        "made": "10",
        "message": "Grok Imagine makes 6 or 10 second videos; 8 became 10",
    }
    mismatch = {"param": "seconds", "promised": 10, "produced": 6.0, "message": "promised 10 s, the video is 6 s"}
    shown = job_fields(
        job(
            requested={"seconds": "8", "size": "1280x720", "model": "sora-2"},
            options={"aspect_ratio": "16:9", "resolution": "720p", "duration": 10, "mode": None},
            adjustments=[adjusted],
            waiting_reason="waiting for a worker that can extend videos",
            output_mismatch=[mismatch],
            grok_post_id="1234",
        ),
        now=1060,
    )
    names = [name for name, _ in shown]
    assert names.index("status") + 1 == names.index("waiting")
    assert names.index("asked") + 1 == names.index("options") == names.index("adjusted") - 1
    fields = dict(shown)
    assert fields["waiting"] == "waiting for a worker that can extend videos"
    assert fields["asked"] == "seconds=8 size=1280x720 model=sora-2"
    assert fields["options"] == "aspect_ratio=16:9 resolution=720p duration=10"
    assert fields["adjusted"] == "Grok Imagine makes 6 or 10 second videos; 8 became 10"
    assert fields["mismatch"] == "promised 10 s, the video is 6 s"
    assert fields["grok post"] == "1234"

    plain = dict(job_fields(job(requested={}, adjustments=[], waiting_reason=None, output_mismatch=None), now=1060))
    assert not {"waiting", "asked", "adjusted", "mismatch", "grok post"} & set(plain)


def test_control_characters_from_the_server_never_reach_the_terminal() -> None:
    evil = "evil \x1b]0;PWNED\x07 \x1b[31mred\u202e"
    job = {"id": "job_1", "status": "failed", "error_code": "x\x1b[2J", "progress": 0, "created": 0, "prompt": evil}
    table = jobs_table([job], width=120, now=10)
    fields = fields_text(job_fields({**job, "error": evil, "options": {}}, now=10))
    for text in (table, fields, printable(evil)):
        assert not any(ord(c) < 32 and c not in "\n\t" for c in text), repr(text)
        assert "\u202e" not in text
    assert printable("line one\n\tline two") == "line one\n\tline two"


def image_job(**fields: object) -> dict[str, object]:
    made = [
        {
            "index": 0,
            "url": "http://h/images/job_i/0.png?sig",
            "content_type": "image/png",
            "width": 1024,
            "height": 576,
            "bytes": 181234,
        },
        {
            "index": 1,
            "url": "http://h/images/job_i/1.jpg?sig",
            "content_type": "image/jpeg",
            "width": 1024,
            "height": 576,
            "bytes": 90500,
        },
    ]
    return job(id="job_i", status="completed", progress=100, media="image", n=4, images=made, **fields)


def test_image_jobs_show_their_media_and_how_many_images_they_have() -> None:
    jobs = [image_job(), job(id="job_p", media="image", n=3, images=[]), job(id="job_v", media="video", n=1)]
    rows = jobs_table(jobs, width=80, now=1030).splitlines()
    assert rows[0].split() == ["ID", "STATUS", "PROGRESS", "AGE", "MEDIA", "PROMPT"]
    assert [row.split("  ")[0].strip() for row in rows[1:]] == ["job_i", "job_p", "job_v"]
    assert "image 2/4" in rows[1] and "image 0/3" in rows[2] and "video" in rows[3]
    assert [line.split("\t")[5] for line in jobs_lines(jobs).splitlines()] == ["image 2/4", "image 0/3", "video"]
    # A server from before images lists no media: its jobs are videos.
    assert jobs_lines([job()]).split("\t")[5] == "video"


def test_an_image_jobs_fields_list_each_image_instead_of_a_video() -> None:
    shown = job_fields(image_job(has_image=True, image_size=5120), now=1060)
    fields = dict(shown)
    assert fields["media"] == "image"
    assert fields["source"] == "yes (5120 bytes)"
    assert fields["images"] == "2 of 4"
    assert fields["image 0"] == "http://h/images/job_i/0.png?sig (1024x576, 181 KB)"
    assert fields["image 1"] == "http://h/images/job_i/1.jpg?sig (1024x576, 90 KB)"
    assert not {"video", "produced", "image"} & set(fields)
    names = [name for name, _ in shown]
    assert names.index("images") + 1 == names.index("image 0") == names.index("image 1") - 1

    waiting = dict(job_fields(job(media="image", n=2, images=[]), now=1060))
    assert waiting["images"] == "0 of 2 (not ready yet)"
    assert waiting["source"] == "no"

    video = dict(job_fields(job(media="video", n=1, images=[]), now=1060))
    assert video["media"] == "video" and video["image"] == "no" and video["video"] == "- (not ready yet)"
    assert "images" not in video


def test_saving_images_is_one_line_per_image_in_a_log_and_a_bar_on_a_terminal() -> None:
    out, clock = io.StringIO(), Clock()
    log = Progress(out, tty=False, clock=clock)
    for number in (1, 1, 2):
        log.saving(number, 2)
    log.done("saved")
    assert out.getvalue().splitlines() == [
        "[0:00] downloading image 1 of 2",
        "[0:00] downloading image 2 of 2",
        "[0:00] saved",
    ]
    out = io.StringIO()
    Progress(out, tty=True, clock=clock).saving(3, 4)
    assert out.getvalue() == f"\r[{'#' * 12}{'.' * 12}] downloading image 3 of 4  0:00"
