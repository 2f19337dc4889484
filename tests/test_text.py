"""bot/text.py: NFC, tone-mark placement, folding, abbreviations — and that Rasa can load it."""

from __future__ import annotations

import ast
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import text as vi

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("hoà bình", "hòa bình"),
        ("Thuỷ", "Thủy"),
        ("uỷ ban", "ủy ban"),
        ("khoẻ", "khỏe"),
        ("HOÀ", "HÒA"),
        ("quý", "quý"),  # "qu" is a consonant: the mark stays on y
        ("hoàn", "hoàn"),
        ("hoặc", "hoặc"),  # the dot stays under the ă: breve and dot are one vowel's
        ("Hoằng", "Hoằng"),  # closed syllable: the mark stays on a in both styles
        ("thuyền", "thuyền"),
        (unicodedata.normalize("NFD", "Lạng Sơn"), "Lạng Sơn"),  # decomposed input → NFC
        ("  tôi\tbị   sốt  ", "tôi bị sốt"),
        ("a\x00b\x07c\u200bd", "abcd"),
        ("dòng 1\r\n\r\ndòng 2", "dòng 1\ndòng 2"),
    ],
)
def test_normalize(raw: str, normalized: str) -> None:
    assert vi.normalize(raw) == normalized


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Phường Tam Thanh", "phuong tam thanh"),
        ("ĐỒNG ĐĂNG", "dong dang"),
        ("Thủy", "thuy"),
        ("Thuỷ", "thuy"),
        ("Hữu Lũng", "huu lung"),
        ("sốt 39,5°C", "sot 39,5°c"),
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert vi.fold(raw) == folded


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Ko đc à?", "khong duoc a"),
        ("sdt tram y te la j", "so dien thoai tram y te la gi"),
        ("lam ntn bây giờ", "lam nhu the nao bay gio"),
        ("mik ở TPHCM", "minh o ho chi minh"),
        ("Tôi bị sốt!!! 😷", "toi bi sot"),
        ("e cảm ơn ạ", "e cam on a"),  # "e" is left for the model: em, or a typo
    ],
)
def test_key(raw: str, key: str) -> None:
    assert vi.key(raw) == key


def test_strip_diacritics_keeps_case_and_length_of_words() -> None:
    assert vi.strip_diacritics("Đông Kinh có bị phong tỏa không?") == (
        "Dong Kinh co bi phong toa khong?"
    )


@given(st.text())
def test_strip_diacritics_drops_every_combining_mark_and_nothing_else(raw: str) -> None:
    """Whatever the script: the text decomposed, its combining marks (category Mn) dropped,
    đ/Đ made d/D, composed again."""
    decomposed = unicodedata.normalize("NFD", raw).replace("đ", "d").replace("Đ", "D")
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    assert vi.strip_diacritics(raw) == unicodedata.normalize("NFC", bare)


def test_strip_diacritics_keeps_no_table_of_other_scripts() -> None:
    """Hostile text in many scripts does not grow what strip_diacritics keeps in memory."""
    before = len(vi._MARKS)
    chinese = "".join(map(chr, range(0x4E00, 0x9FFF)))
    assert vi.strip_diacritics(chinese) == chinese
    assert vi.strip_diacritics("\u309a\ufe20") == ""  # marks above U+3000 are dropped too
    assert len(vi._MARKS) == before


@pytest.mark.parametrize(
    ("raw", "has"),
    [("", False), ("   ", False), ("😷🙏", False), ("?!…", False), ("a", True), ("115", True)],
)
def test_has_words(raw: str, has: bool) -> None:
    assert vi.has_words(raw) is has


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_code_rasa_loads_is_standard_library_only() -> None:
    """Rasa's environment has none of the app's packages: text.py may use the stdlib only."""
    assert _imports(ROOT / "bot" / "text.py") <= set(sys.stdlib_module_names) | {"__future__"}
    assert _imports(ROOT / "bot" / "assistant" / "vi_tokenizer.py") - set(
        sys.stdlib_module_names
    ) <= {"rasa", "bot", "__future__"}
    assert (ROOT / "bot" / "__init__.py").read_text().strip() == ""


def test_tokenizer_runs_in_rasas_python() -> None:
    """Rasa's Python 3.10 imports the tokenizer and folds token lemmas."""
    python = ROOT / ".venv-rasa" / "bin" / "python"
    code = (
        "from rasa.shared.nlu.training_data.message import Message\n"
        "from bot.assistant.vi_tokenizer import VietnameseTokenizer as T\n"
        "t = T(T.get_default_config())\n"
        "m = Message(data={'text': 'Phường Tam Thanh có bị phong toả ko?'})\n"
        "print('|'.join(f'{x.text}>{x.lemma}' for x in t.tokenize(m, 'text')))\n"
    )
    out = (
        subprocess.run(
            [str(python), "-c", code],
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    assert out == ("Phường>phuong|Tam>tam|Thanh>thanh|có>co|bị>bi|phong>phong|toả>toa|ko>khong")
