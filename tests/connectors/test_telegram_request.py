"""PTB over aiohttp (connectors/telegram/request.py): what each kind of failure means for the
message — retried when it certainly never left, uncertain (never resent) when it may have
arrived — against the fake Telegram API and against raw sockets that misbehave."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from connectors.base import Button, OutgoingMessage
from connectors.telegram.outbound import TelegramChannel, make_bot
from connectors.telegram.request import AiohttpRequest
from testkit.fakes import telegram as tg
from testkit.fakes.server import free_port, serve

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handle: Handler) -> AsyncIterator[str]:
    """A TCP server on 127.0.0.1 running ``handle`` per connection; its base URL."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """The request's head and body (by its Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    return head + await reader.readexactly(length)


def channel(url: str, request: AiohttpRequest | None = None) -> TelegramChannel:
    return TelegramChannel(
        make_bot(tg.TOKEN, url, request=request or AiohttpRequest(4, read_timeout=1))
    )


async def test_a_message_with_buttons_arrives_as_telegram_reads_it() -> None:
    fake = tg.FakeTelegram()
    with serve(fake.app()) as url:
        sender = channel(url)
        message = OutgoingMessage(
            text="Cấp độ dịch: 3 🟠", buttons=(Button("Đăng ký", "/subscribe"),)
        )
        result = await sender.send("4242", message)
        await sender.aclose()
    assert result.ok and result.channel_message_id
    [sent] = fake.sent
    assert sent["chat_id"] == 4242 and sent["text"] == "Cấp độ dịch: 3 🟠"
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "/subscribe"


async def test_a_429_is_retried_after_what_telegram_asked() -> None:
    fake = tg.FakeTelegram()
    fake.fail_next(1, "429")
    with serve(fake.app()) as url:
        sender = channel(url)
        result = await sender.send("4242", OutgoingMessage(text="xin chào"))
        await sender.aclose()
    assert not result.ok and result.retryable and result.retry_after and result.retry_after > 0


async def test_a_refused_connection_never_left_so_it_is_retried() -> None:
    sender = channel(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    result = await sender.send("4242", OutgoingMessage(text="xin chào"))
    await sender.aclose()
    assert not result.ok and result.retryable and not result.uncertain


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Takes the request and answers nothing within the 1 s read timeout."""
    await read_request(reader)
    await asyncio.sleep(5)
    writer.close()


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Takes the request (Telegram may have acted on it) and breaks the line."""
    await read_request(reader)
    writer.close()


@pytest.mark.parametrize("server", [silent, hang_up], ids=["no answer in time", "cut after"])
async def test_a_request_that_left_without_an_answer_is_uncertain(server: Handler) -> None:
    async with raw_server(server) as url:
        sender = channel(url)
        result = await sender.send("4242", OutgoingMessage(text="xin chào"))
        await sender.aclose()
    assert not result.ok and result.uncertain and not result.retryable


async def test_waiting_too_long_for_a_free_connection_never_left_so_it_is_retried() -> None:
    answered = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await answered.wait()
        writer.close()

    async with raw_server(slow) as url:
        request = AiohttpRequest(1, read_timeout=10, connect_timeout=0.3)
        sender = channel(url, request)
        first = asyncio.create_task(sender.send("1", OutgoingMessage(text="một")))
        await asyncio.sleep(0.1)  # the only connection is busy with the first
        second = await sender.send("2", OutgoingMessage(text="hai"))
        answered.set()
        await first
        await sender.aclose()
    assert not second.ok and second.retryable and not second.uncertain
