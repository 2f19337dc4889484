"""Rasa tokenizer for Vietnamese chat: whitespace tokens whose lemma is the folded, expanded key.

Loaded by the Rasa server (Python 3.10), so it imports only Rasa and ``bot.text`` (standard
library only). Featurizers read ``token.lemma`` (``use_lemma: true``, Rasa's default), so
"sốt", "sôt" and "sot" — or "không", "ko" and "k" — become one feature, while entity values keep
the words exactly as the person typed them.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

from bot import text as vi


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class VietnameseTokenizer(WhitespaceTokenizer):
    """Whitespace tokenizer that puts ``bot.text.key`` of each token in its lemma."""

    @staticmethod
    def not_supported_languages() -> list[str] | None:
        """Every language is accepted; the folding is meant for Vietnamese."""
        return None

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Same options as the whitespace tokenizer."""
        return WhitespaceTokenizer.get_default_config()

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Split on whitespace, then set each token's lemma to its folded, expanded key."""
        tokens = super().tokenize(message, attribute)
        for token in tokens:
            # An emoji-only or punctuation-only token keeps its text, so it is not empty.
            token.lemma = vi.key(token.text) or token.text
        return tokens
