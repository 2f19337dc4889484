"""Content files: a valid file is stored whole, a bad one is refused whole with clear errors."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.content import files
from bot.storage.content import AreaLevel, LockdownZone, SupportScheme
from bot.storage.models import Base
from tests.content.sample import HOME, SMALL, small

DATABASES = ("sqlite", "postgresql")
ROOT = Path(__file__).resolve().parents[2]


def counts(session: Session) -> dict[str, int]:
    return {
        t.name: session.scalar(select(func.count()).select_from(t)) or 0
        for t in Base.metadata.sorted_tables
        if t.name.startswith("content_")
    }


def test_the_demo_file_is_valid_and_loads(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        saved = files.load(files.read_file(files.DEMO), session=session, prefer_province=HOME)
    assert saved["situations"] == 5 and saved["zones"] >= 5 and saved["schemes"] >= 8
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AreaLevel)) >= 4


def test_export_then_import_gives_the_same_file(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        files.load(small(), session=session, prefer_province=HOME)
    with session_factory() as session:
        first = files.to_yaml(files.dump(session=session, prefer_province=HOME))
    with session_factory.begin() as session:  # again over itself: updates, nothing doubled
        before = counts(session)
        files.load(yaml.safe_load(first), session=session, prefer_province=HOME)
        assert counts(session) == before
        assert files.to_yaml(files.dump(session=session, prefer_province=HOME)) == first


def test_an_edit_updates_in_place_and_replace_removes(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        files.load(small(), session=session, prefer_province=HOME)
    edited = {"version": "1", "zones": copy.deepcopy(small()["zones"][:1])}
    edited["zones"][0]["name"] = "Tổ dân phố 5 (mở rộng)"
    with session_factory.begin() as session:
        files.load(edited, session=session, prefer_province=HOME)
        assert session.scalar(select(func.count()).select_from(LockdownZone)) == 5
    with session_factory.begin() as session:
        saved = files.load(edited, session=session, prefer_province=HOME, replace=True)
        assert saved["-zones"] == 4
        names = list(session.scalars(select(LockdownZone.name)))
        assert names == ["Tổ dân phố 5 (mở rộng)"]
        assert session.scalar(select(func.count()).select_from(SupportScheme)) == 3  # untouched


def _broken(change: str) -> dict[str, Any]:
    data = small()
    zone, scheme, level = data["zones"][0], data["schemes"][0], data["alert_levels"][1]
    match change:
        case "inverted scheme dates":
            scheme["effective_until"] = "2019-01-01"
        case "missing scheme start":
            del scheme["effective_from"]
        case "inverted zone dates":
            zone["ends_at"] = "2019-12-31"
        case "lifted zone without end":
            zone["status"] = "lifted"
        case "zone in a province":
            zone["area"] = "Tỉnh Lạng Sơn"
        case "zone abroad":
            zone["area"] = "Bangkok"
        case "ambiguous area":
            zone["area"] = "Chi Lăng"
        case "old area name":
            zone["area"] = "huyện Cao Lộc"
        case "html in area":
            zone["area"] = "<script>alert(1)</script>"
        case "sql in area":
            zone["area"] = "x'; DROP TABLE content_lockdown_zones; --"
        case "unknown kind":
            zone["kind"] = "village"
        case "typo in a field":
            zone["decison"] = zone.pop("decision")
        case "unknown source":
            level["source"] = "nowhere"
        case "unknown level":
            level["level"] = 6
        case "unknown group":
            scheme["groups"] = ["astronauts"]
        case "duplicate key":
            data["zones"].append(dict(zone))
        case "empty title":
            scheme["title"] = "  "
        case "not a date":
            zone["starts_at"] = "hôm qua"
        case "unknown section":
            data["zonez"] = []
    return data


CASES = [
    ("inverted scheme dates", "schemes[1] (key: open-freelancer): ngày kết thúc"),
    ("missing scheme start", "effective_from: thiếu trường bắt buộc"),
    ("inverted zone dates", "zones[1] (key: tt-5): ngày kết thúc"),
    ("lifted zone without end", "phải có ngày gỡ"),
    ("zone in a province", "phải thuộc một xã, phường"),
    ("zone abroad", 'không tìm thấy địa bàn "Bangkok"'),
    ("ambiguous area", 'địa bàn "Chi Lăng" có thể là'),
    ("old area name", "là tên địa bàn cũ"),
    ("html in area", "không tìm thấy địa bàn"),
    ("sql in area", "không tìm thấy địa bàn"),
    ("unknown kind", "kind: giá trị phải là một trong"),
    ("typo in a field", "decison: trường này không có trong mẫu"),
    ("unknown source", 'không có tài liệu nguồn "nowhere"'),
    ("unknown level", "thang cấp độ không có cấp 6"),  # a level is one of its scheme's
    ("unknown group", 'không có nhóm đối tượng "astronauts"'),
    ("duplicate key", 'khóa "tt-5" bị lặp'),
    ("empty title", "title: không được để trống"),
    ("not a date", "starts_at: ngày không hợp lệ"),
    ("unknown section", 'Mục "zonez" không có trong mẫu'),
]


@pytest.mark.parametrize(("change", "expected"), CASES, ids=[c for c, _ in CASES])
def test_a_bad_file_is_refused_whole_with_a_clear_error(
    session_factory: sessionmaker[Session], change: str, expected: str
) -> None:
    with session_factory() as session:
        before = counts(session)
    with pytest.raises(files.ContentError) as refused, session_factory.begin() as session:
        files.load(_broken(change), session=session, prefer_province=HOME)
    assert expected in str(refused.value), str(refused.value)
    assert str(refused.value).startswith("Tệp có ")
    with session_factory() as session:
        assert counts(session) == before  # nothing stored half-way


def test_a_database_refusal_mid_way_stores_nothing(session_factory: sessionmaker[Session]) -> None:
    data = small()
    data["zones"][1]["ends_at"] = None  # lifted without end …
    data["zones"][1]["status"] = "active"
    with session_factory.begin() as session:
        files.load(data, session=session, prefer_province=HOME)
    # … now make the database itself refuse a row in the middle (bypassing validation)
    with pytest.raises(Exception), session_factory.begin() as session:  # noqa: B017
        files.load(small(), session=session, prefer_province=HOME)
        session.execute(LockdownZone.__table__.update().values(status="closed"))
    with session_factory() as session:
        statuses = set(session.scalars(select(LockdownZone.status)))
        assert statuses == {"active"}


def test_not_yaml_and_missing_version(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("zones: [\n", encoding="utf-8")
    with pytest.raises(files.ContentError, match="không đúng định dạng YAML"):
        files.read_file(broken)
    with pytest.raises(files.ContentError, match='version: "1"'):
        files.parse({"zones": []}, session=None, prefer_province=HOME)  # type: ignore[arg-type]


def test_the_cli_imports_checks_and_exports(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clean_settings_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``loa content`` called in-process (an import of the app costs seconds per process),
    except the import, which runs as the installed command does, with nothing of this shell's
    environment but the database and PATH."""
    monkeypatch.setenv("DATABASE_URL", database_url)

    def loa(*args: str) -> tuple[int, str, str]:
        code = main(["content", *args])
        said = capsys.readouterr()
        return code, said.out, said.err

    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump(_broken("zone abroad"), allow_unicode=True), encoding="utf-8")
    code, _, err = loa("import", str(bad))
    assert code == 2 and "Bangkok" in err and "Traceback" not in err
    assert loa("check", str(SMALL))[0] == 0
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "content", "import", str(SMALL)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0 and "Đã lưu" in done.stdout, done.stderr
    out = tmp_path / "out.yml"
    assert loa("export", str(out))[0] == 0
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["zones"][0]["key"] == "tt-5"
