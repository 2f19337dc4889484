"""Two Rasa processes behind one app, sharing the tracker store and a Redis lock store, started
as `loa run` starts them (RASA_PROCESSES=2, RASA_LOCK_STORE_URL): many people at once each get
every answer in order, both processes serve, and one person's turns sent to both processes at
once stay whole and in order in their conversation."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.rasa_client import RasaClient
from bot.web.webchat import COOKIE
from testkit import http, redis
from testkit.fakes.server import free_port
from testkit.redis import redis_server
from tests.e2e.responses import response_texts

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "multi-rasa-api-token"


@dataclass(frozen=True)
class TwoRasas:
    app_url: str
    rasa_urls: tuple[str, str]
    var: Path
    lock_store_url: str


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _two_free_ports() -> int:
    """A port p with p+1 free too (the second Rasa's)."""
    while True:
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port


@pytest.fixture(scope="module")
def two_rasas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoRasas]:
    var = tmp_path_factory.mktemp("multi-rasa-var")
    app_port, rasa_port, action_port = free_port(), _two_free_ports(), free_port()
    with redis_server() as lock_url:
        env = dict(os.environ)
        for name in ("RASA_URL", "RASA_URLS"):
            env.pop(name, None)
        env.update(
            LOA_VAR_DIR=str(var),
            DATABASE_URL=f"sqlite:///{var / 'loa.db'}",
            PORT=str(app_port),
            RASA_PORT=str(rasa_port),
            ACTION_SERVER_PORT=str(action_port),
            RASA_PROCESSES="2",
            RASA_LOCK_STORE_URL=lock_url,
            RASA_TOKEN=TOKEN,
            RASA_TIMEOUT_SECONDS="60",
            RETRY_INTERVAL_SECONDS="1",
            # Twenty people at once from 127.0.0.1: lift the web chat's limits in front of Rasa.
            WEBCHAT_NEW_PER_ADDRESS_PER_MINUTE="6000",
            WEBCHAT_PER_ADDRESS_PER_MINUTE="6000",
            WEBCHAT_NLU_PER_SECOND="1000",
            WEBCHAT_RASA_CONCURRENCY="40",
        )
        output = var / "loa-run.out"
        with output.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        urls = (f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{rasa_port + 1}")
        deadline = time.monotonic() + 600
        while b"Loa is running" not in output.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("loa run did not start:\n" + output.read_text(errors="replace")[-5000:])
            time.sleep(0.2)
        try:
            yield TwoRasas(f"http://127.0.0.1:{app_port}", urls, var, lock_url)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                pytest.fail("loa run did not stop within 60 s of SIGINT")
            assert code == 0, output.read_text(errors="replace")[-3000:]
            ports = (app_port, rasa_port, rasa_port + 1, action_port)
            assert not any(_port_open(p) for p in ports), "a port is still taken"


def test_loa_run_lists_both_rasa_servers(two_rasas: TwoRasas) -> None:
    printed = (two_rasas.var / "loa-run.out").read_text()
    for url in two_rasas.rasa_urls:
        assert f"{url}/model/parse" in printed
    assert "Rasa lock store:" in printed
    health = http.get(f"{two_rasas.app_url}/healthz", timeout=30)
    assert health.json() == {"database": "ok", "rasa": "ok", "rasa-2": "ok", "actions": "ok"}
    logs = two_rasas.var / "log"
    assert (logs / "rasa.log").exists() and (logs / "rasa-2.log").exists()


def opening(response: str) -> str:
    """The fixed words a response starts with (before its first value)."""
    return response_texts()[response][0].split("{")[0][:40]


# Messages whose replies differ, so each reply shows which message it answers.
MESSAGES = [
    ("xin chào", opening("utter_greet")),
    ("số đường dây nóng", opening("utter_hotline_intro")),
    ("tôi bị sốt và khó thở", opening("utter_triage_emergency")),
]
PEOPLE = 20


def cpu_seconds(port: int) -> float:
    """User + system CPU time of the processes serving ``port`` (a Rasa server)."""
    found = subprocess.run(
        ["pgrep", "-f", "--", f"--port {port}( |$)"], capture_output=True, text=True, check=True
    )
    ticks = 0
    for pid in found.stdout.split():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def converse(app_url: str, person: int) -> list[tuple[str, str]]:
    """One person's conversation on the web chat: each message once they have the answer to
    the one before (as a person types), in an order of their own."""
    shift = person % len(MESSAGES)
    order = MESSAGES[shift:] + MESSAGES[:shift]
    said: list[tuple[str, str]] = []
    cookie: str | None = None
    with httpx.Client(base_url=app_url, timeout=120) as http:
        for text, _ in order:
            headers = {"cookie": f"{COOKIE}={cookie}"} if cookie else {}
            body = {"message_id": str(uuid.uuid4()), "text": text}
            response = http.post("/api/chat/messages", json=body, headers=headers)
            assert response.status_code == 200, response.text
            cookie = response.cookies.get(COOKIE) or cookie
            replies = response.json()["replies"]
            said.append((text, "\n\n".join(r["text"] for r in replies)))
    return said


def test_many_people_at_once_each_get_every_answer_in_order(two_rasas: TwoRasas) -> None:
    ports = [int(url.rsplit(":", 1)[1]) for url in two_rasas.rasa_urls]
    before = [cpu_seconds(p) for p in ports]
    with ThreadPoolExecutor(PEOPLE) as pool:
        conversations = list(pool.map(lambda n: converse(two_rasas.app_url, n), range(PEOPLE)))
    expected = dict(MESSAGES)
    for conversation in conversations:
        assert len(conversation) == len(MESSAGES)
        for text, answer in conversation:
            assert answer.startswith(expected[text]), (text, answer)
    spent = [cpu_seconds(p) - b for p, b in zip(ports, before, strict=True)]
    # The people were spread over both processes by the app's rule …
    with closing(sqlite3.connect(two_rasas.var / "rasa-tracker.db")) as db:
        senders = [
            row[0]
            for row in db.execute(
                "SELECT DISTINCT sender_id FROM events WHERE sender_id LIKE 'webchat:%'"
            )
        ]
    assert len(senders) == PEOPLE
    rule = RasaClient(two_rasas.rasa_urls, client=httpx.AsyncClient())
    people = Counter(rule.urls_for(sender)[0] for sender in senders)
    assert set(people) == set(two_rasas.rasa_urls)
    # … and each process spent CPU on the turns the rule sent it: a turn costs ~30 ms, an idle
    # Rasa ~none (a floor per turn, as the rule's split of random people can be uneven).
    turns = [people[url] * len(MESSAGES) for url in two_rasas.rasa_urls]
    assert all(s >= n * 0.005 for s, n in zip(spent, turns, strict=True)), (spent, turns)
    # Each person's conversation in Rasa holds their messages once, in order.
    for sender in senders:
        assert len(user_texts(two_rasas, sender)) == len(MESSAGES)


def user_texts(two_rasas: TwoRasas, sender: str) -> list[str]:
    response = http.get(
        f"{two_rasas.rasa_urls[1]}/conversations/{sender}/tracker",
        params={"token": TOKEN},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return [e["text"] for e in response.json()["events"] if e["event"] == "user"]


# One person's turns, sent straight to Rasa, each to the other process than the one before,
# all of them queued at once behind a ticket the test holds on the person's lock.
TURNS = 8
HELD = 0  # the test's ticket: the first in the queue, so Rasa's are 1, 2, …

# Drops ticket ARGV[1] from the lock at KEYS[1] in one step: Rasa's servers rewrite the lock
# while their turns wait (to drop expired tickets), and a read-then-write from the test could
# undo one of theirs.
RELEASE = """
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local lock = cjson.decode(stored)
local kept = {}
for _, ticket in ipairs(lock.tickets) do
  if cjson.decode(ticket).number ~= tonumber(ARGV[1]) then kept[#kept + 1] = ticket end
end
if #kept == 0 then redis.call('DEL', KEYS[1]) return 1 end
lock.tickets = kept
redis.call('SET', KEYS[1], cjson.encode(lock))
return 1
"""


def newest_ticket(two_rasas: TwoRasas, sender: str) -> int:
    """The number of the newest ticket on ``sender``'s lock in Redis (-1: no lock): Rasa takes
    a ticket as a turn arrives, and the tickets are served in the order they were taken."""
    stored = redis.get(two_rasas.lock_store_url, f"lock:{sender}")
    tickets = json.loads(stored)["tickets"] if stored else []  # each one a JSON text itself
    return max((int(json.loads(t)["number"]) for t in tickets), default=-1)


def hold(two_rasas: TwoRasas, sender: str) -> None:
    """Take the first ticket of ``sender``'s lock as a Rasa server would: every turn sent for
    them then waits behind it, however fast the machine answers."""
    ticket = json.dumps({"number": HELD, "expires": time.time() + 600})
    lock = json.dumps({"conversation_id": sender, "tickets": [ticket]})
    assert redis.command(two_rasas.lock_store_url, "SET", f"lock:{sender}", lock) == b"OK"


def release(two_rasas: TwoRasas, sender: str) -> None:
    key = f"lock:{sender}"
    assert redis.command(two_rasas.lock_store_url, "EVAL", RELEASE, "1", key, str(HELD)) == 1


def test_one_persons_turns_on_both_processes_stay_whole_and_in_order(
    two_rasas: TwoRasas,
) -> None:
    senders = [f"multi-test:{uuid.uuid4().hex[:8]}" for _ in range(2)]
    sent: dict[str, list[str]] = {s: [] for s in senders}
    codes: list[int] = []
    lock = threading.Lock()

    def turn(sender: str, k: int, text: str) -> None:
        response = http.post(
            f"{two_rasas.rasa_urls[k % 2]}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=180,
        )
        with lock:
            codes.append(response.status_code)

    for sender in senders:
        hold(two_rasas, sender)
    threads = []
    for k in range(TURNS):
        for sender in senders:
            text = ("xin chào", "số đường dây nóng")[k % 2] + f" {k}"
            sent[sender].append(text)
            thread = threading.Thread(target=turn, args=(sender, k, text))
            thread.start()
            threads.append(thread)
            # The next one leaves once Rasa has taken this one's ticket: "the order sent" is
            # then the order Rasa queued them in, however busy the machine is.
            deadline = time.monotonic() + 60
            while newest_ticket(two_rasas, sender) < k + 1:
                assert time.monotonic() < deadline, f"Rasa took no ticket for turn {k}"
                time.sleep(0.005)
    # Every turn waits behind the held ticket: none has been answered yet, so all of one
    # person's turns are in the two processes at once.
    with lock:
        assert codes == []
    for sender in senders:
        release(two_rasas, sender)
    for thread in threads:
        thread.join(timeout=240)
    assert codes == [200] * (TURNS * len(senders))
    for sender in senders:
        assert user_texts(two_rasas, sender) == sent[sender]
    errors = [
        line
        for name in ("rasa.log", "rasa-2.log")
        for line in (two_rasas.var / "log" / name).read_text(errors="replace").splitlines()
        if "database is locked" in line or "LockError" in line
    ]
    assert errors == []
