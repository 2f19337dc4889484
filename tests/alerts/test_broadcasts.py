"""Broadcasts from draft to approval: templates checked at save time, the preview, four eyes,
approving twice or a stale version, and the progress of the sending. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import broadcasts
from bot.alerts.broadcasts import PLACEHOLDERS, BroadcastError, Conflict
from bot.storage.alerts import (
    APPROVED,
    CANCELLED,
    DRAFT,
    FAILED,
    PENDING,
    SENT,
    UNREACHABLE,
    ZONE_CHANGE,
    Broadcast,
    Delivery,
)
from bot.storage.content import LockdownZone
from bot.storage.staff import AuditEntry
from tests.alerts.rig import (
    KY_LUA,
    LANG_SON,
    NOW,
    TAM_THANH,
    load_demo,
    officers,
    settings,
    subscribers,
)

DATABASES = ("sqlite", "postgresql")


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    load_demo(session_factory)
    return session_factory


def _draft(
    db: sessionmaker[Session],
    officer: Any,
    template: str = "Xin chào {khu_vuc}",
    areas: list[Any] | None = None,
    urgent: bool = False,
) -> Broadcast:
    with db.begin() as session:
        return broadcasts.draft_one_off(
            session=session,
            officer=officer,
            areas=areas or [KY_LUA],
            title="Thông báo",
            template=template,
            urgent=urgent,
            now=NOW,
        )


def test_every_placeholder_is_filled_from_data(db: sessionmaker[Session]) -> None:
    staff = officers(db)
    template = "\n".join(f"{name}={{{name}}}" for name in PLACEHOLDERS)
    draft = _draft(db, staff["lan"], template, areas=[TAM_THANH])
    with db() as session:
        text = broadcasts.preview(session=session, broadcast_id=draft.id, now=NOW).text
    filled = dict(line.split("=", 1) for line in text.splitlines())
    assert filled["khu_vuc"] == "Phường Tam Thanh, Tỉnh Lạng Sơn"
    assert filled["cap_do"] == "3" and filled["ten_cap_do"] == "Dịch lây lan trong cộng đồng"
    assert filled["quyet_dinh"] == "MH-08/QĐ-UBND" and filled["hieu_luc"] == "00:00 20/11/2026"
    assert "115" in filled["duong_day_nong"]
    assert filled["vung_phong_toa"].startswith("Tổ dân phố 5")
    assert filled["ten_vung"] == "(chưa có)"  # not a zone's announcement
    assert all(PLACEHOLDERS[name] for name in PLACEHOLDERS)  # each described for officers


BAD_TEMPLATES = [
    ("empty", "", "trống"),
    ("only spaces", "   \n ", "trống"),
    ("unknown placeholder", "Khu vực {khu_vuc}, cấp {muc_do}", "{muc_do}"),
    ("positional placeholder", "Cấp {0}", "{0}"),
    ("attribute access", "{khu_vuc.__class__}", "{khu_vuc.__class__}"),
    ("format spec", "{cap_do:>9}", "{cap_do:>9}"),
    ("open brace", "Cấp {cap_do", "ngoặc nhọn"),
    ("close brace", "Cấp cap_do}", "ngoặc nhọn"),
    ("10,000 characters", "Thông báo. " * 910, "2000"),
    ("short, but too long once filled", "{y_nghia}" * 6, "2000"),
]


@pytest.mark.parametrize(
    ("label", "template", "named"), BAD_TEMPLATES, ids=[b[0] for b in BAD_TEMPLATES]
)
def test_a_bad_template_is_refused_when_saved(
    db: sessionmaker[Session], label: str, template: str, named: str
) -> None:
    staff = officers(db)
    with pytest.raises(BroadcastError) as refused:
        _draft(db, staff["lan"], template)
    assert refused.value.field == "template" and named in refused.value.message_vi
    draft = _draft(db, staff["lan"])
    with db() as session, pytest.raises(BroadcastError) as again:  # editing: the same check
        broadcasts.edit(
            session=session,
            officer=staff["lan"],
            broadcast_id=draft.id,
            version=draft.version,
            title="t",
            template=template,
            now=NOW,
        )
    assert again.value.field == "template"
    with db() as session:
        kept = session.get(Broadcast, draft.id)
        assert kept is not None and kept.template == "Xin chào {khu_vuc}" and kept.version == 1
        assert session.scalar(select(Broadcast).where(Broadcast.template == template)) is None


def test_literal_braces_are_written_twice(db: sessionmaker[Session]) -> None:
    draft = _draft(db, officers(db)["lan"], "{{khẩn}} {khu_vuc}")
    with db() as session:
        assert broadcasts.preview(session=session, broadcast_id=draft.id, now=NOW).text == (
            "{khẩn} Phường Kỳ Lừa, Tỉnh Lạng Sơn"
        )


def test_a_draft_needs_areas_and_a_title(db: sessionmaker[Session]) -> None:
    staff = officers(db)
    with db() as session:
        for areas, title, field in (([], "t", "areas"), ([KY_LUA], "  ", "title")):
            with pytest.raises(BroadcastError) as refused:
                broadcasts.draft_one_off(
                    session=session,
                    officer=staff["lan"],
                    areas=areas,
                    title=title,
                    template="x",
                    urgent=False,
                    now=NOW,
                )
            assert refused.value.field == field


def test_the_preview_counts_people_per_channel_and_commune_and_who_cannot_be_reached(
    db: sessionmaker[Session],
) -> None:
    staff = officers(db)
    subscribers(db, KY_LUA, 3)
    subscribers(db, TAM_THANH, 2, channel="zalo_oa", seen=NOW - timedelta(days=10))
    subscribers(db, LANG_SON, 1, channel="zalo_oa", start=9)
    draft = _draft(db, staff["lan"], areas=[LANG_SON])
    with db() as session:
        seen = broadcasts.preview(session=session, broadcast_id=draft.id, now=NOW)
    assert seen.counts.total == 6
    assert seen.counts.per_channel == {"telegram": 3, "zalo_oa": 3}
    assert seen.counts.per_commune == {6187: 3, 5986: 2, None: 1}
    assert seen.counts.unreachable == 2  # outside Zalo's 7-day window
    assert seen.text == "Xin chào Tỉnh Lạng Sơn"


def _approve(
    db: sessionmaker[Session],
    officer: Any,
    draft: Broadcast,
    version: int | None = None,
    **cfg: Any,
) -> Broadcast:
    with db.begin() as session:
        return broadcasts.approve(
            session=session,
            officer=officer,
            broadcast_id=draft.id,
            version=draft.version if version is None else version,
            now=NOW,
            cfg=settings(**cfg),
        )


def test_four_eyes_then_once_only(db: sessionmaker[Session]) -> None:
    staff = officers(db)
    draft = _draft(db, staff["lan"])
    for who, field in (("lan", "approver"), ("op", "officer")):
        with pytest.raises(BroadcastError) as refused:
            _approve(db, staff[who], draft)
        assert refused.value.field == field
    approved = _approve(db, staff["minh"], draft)
    assert (approved.status, approved.approved_by) == (APPROVED, staff["minh"].id)
    assert approved.text == "Xin chào Phường Kỳ Lừa, Tỉnh Lạng Sơn"
    with pytest.raises(BroadcastError) as twice:
        _approve(db, staff["minh"], approved)
    assert twice.value.field == "status" and "minh" in twice.value.message_vi
    with pytest.raises(BroadcastError) as stale:  # a stale page approving again: still "twice"
        _approve(db, staff["lan"], draft, version=1)
    assert stale.value.field == "status"
    with db() as session:
        actions = [a for a in session.scalars(select(AuditEntry.action)) if "broadcast" in a]
        assert actions == ["broadcast_draft", "broadcast_approve"]


@pytest.mark.parametrize(("urgent", "allowed"), [(True, True), (False, False)])
def test_the_setting_lets_an_author_approve_an_urgent_announcement_alone(
    db: sessionmaker[Session], urgent: bool, allowed: bool
) -> None:
    staff = officers(db)
    draft = _draft(db, staff["lan"], urgent=urgent)
    if allowed:
        assert _approve(db, staff["lan"], draft, alert_self_approve_urgent=True).status == APPROVED
    else:
        with pytest.raises(BroadcastError):
            _approve(db, staff["lan"], draft, alert_self_approve_urgent=True)


def test_a_stale_version_is_a_conflict(db: sessionmaker[Session]) -> None:
    staff = officers(db)
    draft = _draft(db, staff["lan"])
    with db.begin() as session:
        edited = broadcasts.edit(
            session=session,
            officer=staff["lan"],
            broadcast_id=draft.id,
            version=1,
            title="Mới",
            template="Mới {khu_vuc}",
            now=NOW,
        )
        assert edited.version == 2
    for act in ("edit", "approve", "cancel"):
        with db() as session, pytest.raises(Conflict) as lost:
            if act == "edit":
                broadcasts.edit(
                    session=session,
                    officer=staff["minh"],
                    broadcast_id=draft.id,
                    version=1,
                    title="x",
                    template="x",
                    now=NOW,
                )
            else:
                getattr(broadcasts, act)(
                    session=session,
                    officer=staff["minh"],
                    broadcast_id=draft.id,
                    version=1,
                    now=NOW,
                )
        assert lost.value.field == "version"


def test_two_approvers_at_once_approve_once(db: sessionmaker[Session]) -> None:
    """Both loaded version 1; the second one's compare-and-set finds version 2."""
    staff = officers(db)
    draft = _draft(db, staff["lan"])
    second = db()
    loaded = second.get(Broadcast, draft.id)
    assert loaded is not None and loaded.status == DRAFT
    _approve(db, staff["minh"], draft)
    with pytest.raises(BroadcastError) as lost:
        broadcasts.approve(
            session=second,
            officer=staff["minh"],
            broadcast_id=draft.id,
            version=1,
            now=NOW,
            cfg=settings(),
        )
    assert isinstance(lost.value, Conflict)
    second.rollback()
    second.close()
    with db() as session:
        assert session.get(Broadcast, draft.id).version == 2  # type: ignore[union-attr]


def test_a_cancelled_draft_is_never_approved(db: sessionmaker[Session]) -> None:
    staff = officers(db)
    draft = _draft(db, staff["lan"])
    with db.begin() as session:
        cancelled = broadcasts.cancel(
            session=session, officer=staff["minh"], broadcast_id=draft.id, version=1, now=NOW
        )
    assert cancelled.status == CANCELLED
    with pytest.raises(BroadcastError) as refused:
        _approve(db, staff["minh"], cancelled)
    assert refused.value.field == "status" and "đã hủy" in refused.value.message_vi
    with db() as session:
        assert [b.id for b in broadcasts.listing(session=session, status=CANCELLED)] == [draft.id]
        assert broadcasts.listing(session=session, status=DRAFT) == []


def test_a_zone_set_up_or_lifted_gets_its_announcement(db: sessionmaker[Session]) -> None:
    staff = officers(db)
    with db.begin() as session:
        active = session.scalar(select(LockdownZone).where(LockdownZone.key == "tam-thanh-to-5"))
        lifted = session.scalar(select(LockdownZone).where(LockdownZone.key == "huu-lung-thon-7"))
        assert active is not None and lifted is not None
        up = broadcasts.draft_for_zone(
            session=session, officer=staff["lan"], zone_id=active.id, now=NOW, cfg=settings()
        )
        down = broadcasts.draft_for_zone(
            session=session, officer=staff["lan"], zone_id=lifted.id, now=NOW, cfg=settings()
        )
    with db() as session:
        up_text = broadcasts.preview(session=session, broadcast_id=up.id, now=NOW).text
        down_text = broadcasts.preview(session=session, broadcast_id=down.id, now=NOW).text
    assert (up.kind, up.urgent, down.urgent) == (ZONE_CHANGE, True, False)
    assert up_text.startswith("🚧 THÔNG BÁO PHONG TỎA – Phường Tam Thanh")
    assert "Tổ dân phố 5 được phong tỏa theo quyết định MH-06/QĐ-UBND" in up_text
    assert "Thôn 7 được gỡ phong tỏa" in down_text and "00:00 20/11/2026" in down_text
    with db() as session, pytest.raises(BroadcastError):
        broadcasts.draft_for_zone(session=session, officer=staff["lan"], zone_id=999_999, now=NOW)


def test_progress_counts_rates_and_reasons(db: sessionmaker[Session]) -> None:
    staff = officers(db)
    people = subscribers(db, KY_LUA, 10)
    draft = _draft(db, staff["lan"])
    plan = [(SENT, 30), (SENT, 20), (SENT, 90), (FAILED, None), (FAILED, None), (UNREACHABLE, None)]
    plan += [(PENDING, None)] * 4
    with db.begin() as session:
        for person, (status, ago) in zip(people, plan, strict=True):
            session.add(
                Delivery(
                    broadcast_id=draft.id,
                    person_id=person,
                    status=status,
                    created_at=NOW,
                    sent_at=NOW - timedelta(seconds=ago) if ago else None,
                    error={FAILED: "chat not found", UNREACHABLE: "zalo window"}.get(status),
                )
            )
    with db() as session:
        seen = broadcasts.progress(session=session, broadcast_id=draft.id, now=NOW)
    assert (seen.total, seen.sent, seen.failed, seen.unreachable, seen.pending) == (10, 3, 2, 1, 4)
    assert seen.rate_per_s == pytest.approx(2 / 60)  # two sent in the last minute
    assert seen.seconds_left == pytest.approx(4 / (2 / 60))
    assert seen.failures == [("chat not found", 2), ("zalo window", 1)]
    with db() as session:
        empty = broadcasts.progress(
            session=session, broadcast_id=_draft(db, staff["lan"]).id, now=NOW
        )
    assert (empty.total, empty.rate_per_s, empty.seconds_left) == (0, None, None)
