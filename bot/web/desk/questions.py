"""The content team's to-do list on the desk (/desk/questions): the questions Loa answered "I
don't know" or that people rated 👎, grouped by similarity, largest group first, with how many
of each, when last asked and which bank entries were rated down — what ``loa content
unanswered`` prints, for those who write the answers and check claims.

Questions are stored with phone numbers masked and no sender, but a person may still have
written a health detail or an address, so each view is written to the audit log. The groups
are worked out from the ``NEWEST`` questions of the window at most (0.4 s of matching for that
many, 1.2 s for 5,000: the app's other work shares the process); the page says when there were
more.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bot.content.bank.unanswered import count, groups
from bot.helpdesk import staff as accounts
from bot.helpdesk.staff import VIEW_QUESTIONS, Staff
from bot.storage.questions import DOWN, KEEP_DAYS, UNKNOWN
from bot.web.desk.auth import desk_of, require

Reader = Annotated[Staff, Depends(require(VIEW_QUESTIONS))]
WINDOWS = (1, 7, 30, KEEP_DAYS)  # days back the page offers (questions are kept KEEP_DAYS)
NEWEST = 2_000
SHOWN = 100  # groups on the page; the rest are the small ones
WORDINGS = 3  # other wordings shown under a group's latest


def add_routes(router: APIRouter) -> None:
    # A plain function: FastAPI runs it in its thread pool, so grouping never holds up the
    # event loop that serves the citizens' webhooks.
    @router.get("/questions", include_in_schema=False)
    def to_do(request: Request, staff: Reader, days: str = "30") -> Response:
        desk = desk_of(request)
        chosen = int(days) if days.isdigit() and len(days) < 4 else 0
        if chosen not in WINDOWS:
            return desk.page(request, "desk/questions.html", 400, bad_days=True, windows=WINDOWS)
        now = desk.now()
        with desk.sessions() as session:
            since = now - timedelta(days=chosen)
            asked = count(session, since=since)
            found = groups(session, since=since, newest=NEWEST)
            accounts.audit(
                session=session,
                staff=staff,
                action="questions_view",
                target_kind="asked_questions",
                detail={"days": chosen},
                now=now,
            )
            session.commit()
        rows = [
            {
                "group": group,
                "others": [t for t in dict.fromkeys(group.texts[1:]) if t != group.example][
                    :WORDINGS
                ],
                "entries": group.entries.most_common(3),
            }
            for group in found[:SHOWN]
        ]
        return desk.page(
            request,
            "desk/questions.html",
            days=chosen,
            windows=WINDOWS,
            rows=rows,
            groups=len(found),
            asked=asked,
            cut=asked > NEWEST,
            newest=NEWEST,
            unknown=UNKNOWN,
            down=DOWN,
        )
