from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grok_imagine_api.config import Settings, load_settings


def test_seed_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.server_host == "0.0.0.0"
    assert settings.server_port == 8000
    assert settings.video_storage_path == Path("./videos")
    assert settings.log_path == Path("./logs")
    assert settings.db_path == Path("./jobs.db")
    assert settings.max_video_age_days == 7
    assert settings.job_timeout_seconds == 300
    assert settings.cors_origins == ["*"]
    assert settings.max_upload_bytes == 512 * 1024 * 1024


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "SERVER_PORT=9001\nJOB_TIMEOUT_SECONDS=60\nCORS_ORIGINS=http://a.example, http://b.example\n"
    )
    monkeypatch.setenv("JOB_TIMEOUT_SECONDS", "120")
    settings = Settings()
    assert settings.server_port == 9001
    assert settings.job_timeout_seconds == 120  # the environment wins over .env
    assert settings.cors_origins == ["http://a.example", "http://b.example"]


def test_bad_values_stop_start_up_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SERVER_PORT", "eighty")
    monkeypatch.setenv("MAX_VIDEO_AGE_DAYS", "-1")
    with pytest.raises(SystemExit) as stop:
        load_settings()
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "SERVER_PORT='eighty'" in err
    assert "MAX_VIDEO_AGE_DAYS='-1'" in err


def test_public_base_url_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "example.org")
    with pytest.raises(SystemExit):
        load_settings()


def test_missing_directories_are_created(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        db_path=tmp_path / "a/b/jobs.db",
        video_storage_path=tmp_path / "v/w",  # type: ignore[call-arg]
        log_path=tmp_path / "l",
    )
    settings.prepare_paths()
    assert (tmp_path / "a/b").is_dir() and (tmp_path / "v/w").is_dir() and (tmp_path / "l").is_dir()


def test_server_py_reports_a_bad_setting_and_exits(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, str(root / "server.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "SERVER_PORT": "99999"},
        timeout=60,
    )
    assert result.returncode == 2
    assert "SERVER_PORT=99999" in result.stderr or "SERVER_PORT='99999'" in result.stderr


def test_database_url_chooses_the_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from grok_imagine_api.store.factory import build_stores
    from grok_imagine_api.store.postgres import PostgresJobStore
    from grok_imagine_api.store.sqlite import SqliteJobStore

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "")
    assert Settings().database_url is None
    assert isinstance(build_stores(Settings())[0], SqliteJobStore)
    monkeypatch.setenv("DATABASE_URL", "postgresql://grok@db:5432/grok")
    assert isinstance(build_stores(Settings())[0], PostgresJobStore)
    monkeypatch.setenv("DATABASE_URL", "mysql://grok@db/grok")
    with pytest.raises(ValueError, match="postgresql://"):
        Settings()
