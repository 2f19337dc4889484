"""The ``loa`` command, called as ``bot.cli.main([...])`` on a temporary database: migrate,
content check/import/export, ``zalo set-tokens``, and the argument errors of ``telegram``."""

from __future__ import annotations

import io
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.channels.tokens import DbTokenStore
from bot.cli import main
from bot.clock import utcnow
from bot.storage.engine import engine, sessions
from bot.storage.questions import DOWN, UNKNOWN, UP, record
from connectors.zalo_oa.tokens import Tokens

FIXTURES = Path(__file__).parent / "fixtures" / "content"
ACCESS, REFRESH = "TEST-cli-access-token", "TEST-cli-refresh-token"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_settings_env: Path) -> str:
    """An environment of defaults (not this shell's) with a database under ``tmp_path``."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def stored_pair(url: str) -> Tokens | None:
    return DbTokenStore(sessions=sessions(url), channel="zalo_oa", initial=None).load()


def with_stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_db_upgrade_creates_the_schema(db: str) -> None:
    assert main(["db-upgrade"]) == 0
    assert {"messages", "channel_tokens", "alembic_version"} <= set(
        inspect(engine(db)).get_table_names()
    )


def test_a_bad_setting_is_named_and_exits_2(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORT", "abc")
    assert main(["db-upgrade"]) == 2
    assert "PORT must be a whole number" in capsys.readouterr().err


def test_content_check_import_and_export(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = str(FIXTURES / "small.yml")
    assert main(["content", "check", small]) == 0
    assert "hợp lệ" in capsys.readouterr().out
    assert main(["content", "export"]) == 0
    assert "Triệu chứng" not in capsys.readouterr().out  # check stored nothing

    assert main(["content", "import", small]) == 0
    assert "Đã lưu" in capsys.readouterr().out
    exported = tmp_path / "out.yml"
    assert main(["content", "export", str(exported)]) == 0
    assert "Triệu chứng" in exported.read_text(encoding="utf-8")
    assert main(["content", "check", str(exported)]) == 0  # what is exported imports again


@pytest.mark.parametrize(
    ("label", "text"),
    [("not YAML", "sources: [unclosed"), ("not a mapping", "- a list"), ("missing", None)],
)
def test_content_check_refuses_a_bad_file_with_2(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], label: str, text: str | None
) -> None:
    path = tmp_path / "bad.yml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    assert main(["content", "check", str(path)]) == 2
    assert capsys.readouterr().err.strip()


def test_zalo_set_tokens_from_flags_replaces_the_stored_pair(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    old = ("TEST-cli-old-access-token", "TEST-cli-old-refresh-token")  # never a substring of
    # anything else printed (a short "old-a" once matched other output in a full xdist run)
    assert main(["zalo", "set-tokens", "--access-token", old[0], "--refresh-token", old[1]]) == 0
    assert main(["zalo", "set-tokens", "--access-token", ACCESS, "--refresh-token", REFRESH]) == 0
    pair = stored_pair(db)
    assert pair is not None and (pair.access_token, pair.refresh_token) == (ACCESS, REFRESH)
    out = capsys.readouterr()
    assert "replaced" in out.out
    said = out.out + out.err
    assert [t for t in (ACCESS, REFRESH, *old) if t in said] == [], said


def test_zalo_set_tokens_from_stdin(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with_stdin(monkeypatch, f"{ACCESS}\n{REFRESH}\n")
    assert main(["zalo", "set-tokens"]) == 0
    pair = stored_pair(db)
    assert pair is not None and (pair.access_token, pair.refresh_token) == (ACCESS, REFRESH)
    out = capsys.readouterr()
    assert ACCESS not in out.out + out.err and REFRESH not in out.out + out.err


def test_zalo_set_tokens_prompts_without_echo(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a terminal the tokens are asked with getpass, which does not echo them."""
    answers = iter([ACCESS, REFRESH])
    prompts: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or next(answers))
    assert main(["zalo", "set-tokens"]) == 0
    assert prompts == ["Access token: ", "Refresh token: "]
    pair = stored_pair(db)
    assert pair is not None and (pair.access_token, pair.refresh_token) == (ACCESS, REFRESH)


@pytest.mark.parametrize(
    ("label", "argv", "stdin"),
    [
        ("nothing on stdin", [], ""),
        ("one line on stdin", [], f"{ACCESS}\n"),
        ("blank flags", ["--access-token", " ", "--refresh-token", ""], None),
    ],
)
def test_zalo_set_tokens_refuses_empty_input_with_2(
    db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    label: str,
    argv: list[str],
    stdin: str | None,
) -> None:
    if stdin is not None:
        with_stdin(monkeypatch, stdin)
    assert main(["zalo", "set-tokens", *argv]) == 2
    assert "nothing stored" in capsys.readouterr().err
    assert not Path(db.removeprefix("sqlite:///")).exists()  # not even a database made


@pytest.mark.parametrize(
    ("label", "argv"),
    [
        ("no action", ["telegram"]),
        ("an unknown action", ["telegram", "delete-everything"]),
        ("set-webhook without a URL", ["telegram", "set-webhook"]),
        ("zalo without an action", ["zalo"]),
    ],
)
def test_argument_errors_exit_2(
    db: str, capsys: pytest.CaptureFixture[str], label: str, argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "usage: loa" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("label", "env", "message"),
    [
        ("no token", {}, "TELEGRAM_BOT_TOKEN is not set"),
        ("no webhook secret", {"TELEGRAM_BOT_TOKEN": "123:TEST"}, "TELEGRAM_WEBHOOK_SECRET"),
    ],
)
def test_telegram_set_webhook_says_what_is_missing(
    db: str, monkeypatch: pytest.MonkeyPatch, label: str, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_:
        main(["telegram", "set-webhook", "https://example.invalid/webhooks/telegram"])
    assert message in str(exit_.value.code)


def test_content_unanswered_groups_alike_questions_with_counts(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["content", "unanswered"]) == 0
    assert "Không có câu hỏi nào" in capsys.readouterr().out
    now = utcnow()
    with sessions(db).begin() as session:
        for days, text, outcome in [
            (1, "giá xét nghiệm PCR ở bệnh viện tỉnh bao nhiêu", UNKNOWN),
            (2, "xét nghiệm PCR ở bệnh viện tỉnh giá bao nhiêu tiền", UNKNOWN),
            (3, "gia xet nghiem pcr benh vien tinh", DOWN),
            (1, "chó nhà tôi bị ho có lây không", UNKNOWN),
            (40, "câu hỏi cũ hơn ba mươi ngày", UNKNOWN),
            (1, "mũi 3 tiêm ở đâu", UP),  # a thumbs-up is no to-do
        ]:
            record(text, outcome, at=now - timedelta(days=days), entry_key=None, session=session)
    assert main(["content", "unanswered", "--days", "30"]) == 0
    out = capsys.readouterr().out
    assert "2 nhóm câu hỏi" in out
    first, second = out.split("\n\n")[1:3]
    assert first.lstrip().startswith("3 lần (chưa biết 2, 👎 1)")
    assert "giá xét nghiệm PCR ở bệnh viện tỉnh bao nhiêu" in first  # the latest wording
    assert "chó nhà tôi" in second and "cũ hơn" not in out and "mũi 3" not in out


def test_run_lists_every_rasa_and_hides_the_lock_stores_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from dataclasses import replace

    from bot.cli import _print_urls
    from bot.settings import Settings

    lock = "redis://:lock-store-secret@10.0.0.5:6390/1"
    _print_urls(replace(Settings(), rasa_processes=2, rasa_lock_store_url=lock))
    printed = capsys.readouterr().out
    assert "http://127.0.0.1:5005/model/parse" in printed
    assert "http://127.0.0.1:5006/model/parse" in printed
    assert "redis://10.0.0.5:6390/1" in printed
    assert "lock-store-secret" not in printed
