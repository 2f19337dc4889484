"""Serve the fake Telegram and Zalo OA APIs until Ctrl-C, and print the settings that point
Loa at them (a demo without accounts: ``python -m testkit.fakes``, then ``make run`` with them).
"""

from __future__ import annotations

import contextlib
import time

from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa
from testkit.fakes.env import channel_env
from testkit.fakes.server import serve


def main() -> None:
    telegram, zalo = tg.FakeTelegram(), oa.FakeZaloOA()
    with serve(telegram.app()) as tg_url, serve(zalo.app()) as oa_url:
        print("Fake Telegram API:", tg_url)
        print("Fake Zalo OA API: ", oa_url)
        print("Settings for Loa:")
        for name, value in channel_env(tg_url, oa_url).items():
            print(f"  export {name}={value}")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(1)


if __name__ == "__main__":
    main()
