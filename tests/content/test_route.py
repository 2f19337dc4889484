"""The router: a danger sign always wins, a fixed intent answers only when confident and on its
topic, the bank answers the rest above its threshold, and below it Loa says it does not know."""

from __future__ import annotations

import pytest

from bot.content.bank.index import Hit
from bot.content.bank.route import (
    ASK,
    BANK,
    DANGER,
    FOREIGN,
    INTENT,
    LIMITS,
    UNKNOWN,
    WHICH,
    decide,
    elsewhere,
    foreign,
    on_topic,
)
from bot.text import fold

SURE = min(LIMITS.intent + 0.01, 1.0)  # a confidence the router takes
STRONG = [Hit("f0-days", max(LIMITS.bank_over, LIMITS.bank) + 0.1), Hit("f1-days", 0.1)]
# Answers (alone, clearly ahead of nothing), but not over a sure intent.
GOOD = [Hit("vax-third", LIMITS.bank_low + 0.01)]
# Too weak to answer, close enough to ask about ("is it this?"); and too weak even for that.
FAIR = [Hit("vax-third", LIMITS.bank_low - 0.02)]
WEAK = [Hit("vax-third", LIMITS.ask_bank - 0.05)]


def test_the_examples_below_sit_where_they_should() -> None:
    assert LIMITS.bank_low + 0.01 < LIMITS.bank_over and LIMITS.intent <= SURE
    assert LIMITS.bank_low + 0.01 >= LIMITS.margin  # GOOD is ahead of a missing second entry
    assert LIMITS.ask_bank < LIMITS.bank_low - 0.02  # FAIR is asked about


def test_a_danger_sign_wins_over_any_intent_and_any_entry() -> None:
    text = "Tôi là F0 đang điều trị tại nhà, gần đây thấy khó thở hơn, yêu cầu của tôi đến đâu rồi"
    for ranking in ([("check_request_status", 0.99)], [("greet", 0.9)], [("nlu_fallback", 0.4)]):
        assert decide(text, ranking, STRONG).kind == DANGER
    for text in ("bố em thở dốc", "môi tím tái", "con em co giật", "spo2 của mẹ 91"):
        assert decide(text, [("ask_prevention", 0.9)], []).kind == DANGER, text


def test_a_confident_intent_on_its_topic_answers() -> None:
    route = decide("phường Tam Thanh có bị phong tỏa không", [("ask_lockdown_status", SURE)], WEAK)
    assert (route.kind, route.intent) == (INTENT, "ask_lockdown_status")


def test_a_confident_intent_off_its_topic_gives_way_to_the_bank() -> None:
    text = "tiêm vắc xin mũi 3 ở đâu"  # the 5K message is no answer to this
    route = decide(text, [("ask_prevention", 0.93)], GOOD)
    assert (route.kind, route.entry) == (BANK, "vax-third")
    assert decide(text, [("ask_prevention", 0.93)], WEAK).kind == UNKNOWN
    route = decide(text, [("ask_prevention", 0.93)], FAIR)
    assert (route.kind, route.entry, route.choices) == (ASK, "vax-third", ())


def test_unsure_loa_asks_about_the_close_entries_and_the_intent_on_its_topic() -> None:
    best = LIMITS.bank_low - 0.02
    # "c" is too far behind the best to be offered (and "a", "b" are over ``ask_bank``).
    window = LIMITS.ask_window
    hits = [Hit("a", best), Hit("b", best - window + 0.01), Hit("c", best - window - 0.02)]
    assert best - window + 0.01 >= LIMITS.ask_bank
    text = "muốn biết triệu chứng thế nào thì nên đi xét nghiệm"
    route = decide(text, [("ask_symptoms", 0.6), ("ask_prevention", 0.3)], hits)
    assert route.kind == ASK
    assert ([h.key for h in route.hits], route.choices) == (["a", "b"], ("ask_symptoms",))
    # Off its topic, or too unsure, the intent is not offered; the entries still are.
    for ranking in ([("ask_hotline", 0.6)], [("ask_symptoms", LIMITS.ask_intent - 0.01)]):
        route = decide(text, ranking, hits)
        assert (route.kind, route.choices) == (ASK, ()), ranking
    # An intent alone is asked about when nothing in the bank is close.
    route = decide(text, [("ask_symptoms", 0.6)], WEAK)
    assert (route.kind, route.hits, route.choices) == (ASK, (), ("ask_symptoms",))


def test_rasas_second_intent_is_offered_too_when_it_is_on_its_topic() -> None:
    text = "tuần trước mình có đăng ký, giờ theo dõi những khu nào"
    ranking = [("subscribe_alerts", 0.7), ("ask_subscriptions", LIMITS.ask_second + 0.01)]
    route = decide(text, ranking, WEAK)
    assert (route.kind, route.choices) == (ASK, ("subscribe_alerts", "ask_subscriptions"))
    ranking = [("subscribe_alerts", 0.7), ("ask_subscriptions", LIMITS.ask_second - 0.01)]
    assert decide(text, ranking, WEAK).choices == ("subscribe_alerts",)


def test_a_question_back_offers_at_most_ask_most_choices() -> None:
    best = LIMITS.bank_low - 0.02
    hits = [Hit(k, best - i * 0.01) for i, k in enumerate("abcde")]
    route = decide("triệu chứng ra sao", [("ask_symptoms", 0.6)], hits)
    assert len(route.hits) + len(route.choices) == LIMITS.ask_most
    assert route.choices == ("ask_symptoms",)


def test_a_need_or_a_greeting_loa_is_unsure_of_is_never_offered_as_a_choice() -> None:
    # request_help is offered (its button starts the form); a greeting, a place alone, a wish
    # to be forgotten or to unsubscribe are not: a button would act on what was not said.
    for intent in ("greet", "inform_place", "forget_me", "unsubscribe_alerts"):
        assert decide("hủy hết đi", [(intent, 0.6)], WEAK).kind == UNKNOWN, intent


def test_smalltalk_rasa_is_fairly_sure_of_is_answered_when_its_words_are_there() -> None:
    fair = LIMITS.smalltalk_said + 0.05
    assert fair < LIMITS.smalltalk
    route = decide("Chào Loa, chúc buổi sáng tốt lành", [("greet", fair)], WEAK)
    assert (route.kind, route.intent) == (INTENT, "greet")
    route = decide("Cảm ơn Loa nhé, mình chào đây", [("thank", fair)], WEAK)
    assert (route.kind, route.intent) == (INTENT, "thank")
    # Rasa's guess without the words is not enough ("đa tạ" is not affirming)
    assert decide("đa tạ nhé", [("affirm", fair)], WEAK).kind == UNKNOWN
    assert decide("thôi nhé", [("greet", fair)], WEAK).kind == UNKNOWN
    below = LIMITS.smalltalk_said - 0.05
    assert decide("Chào Loa", [("greet", below)], WEAK).kind == UNKNOWN


def test_out_of_scope_and_fallback_go_to_the_bank_or_say_they_do_not_know() -> None:
    for intent in ("out_of_scope", "nlu_fallback"):
        assert decide("uống nước chanh nóng", [(intent, 0.9)], GOOD).kind == BANK
        assert decide("giá vàng hôm nay", [(intent, 0.9)], WEAK).kind == UNKNOWN


def test_a_very_strong_entry_wins_over_a_confident_intent_on_topic() -> None:
    text = "F0 cách ly tại nhà mấy ngày, có được hỗ trợ tiền không"
    route = decide(text, [("ask_support_scheme", SURE)], STRONG)
    assert route.kind == BANK
    assert decide(text, [("ask_support_scheme", SURE)], GOOD).kind == INTENT


def test_smalltalk_gives_way_to_a_real_question() -> None:
    assert decide("chào bạn", [("greet", SURE)], []).kind == INTENT
    assert decide("chào bạn, cho hỏi tiêm mũi 3 ở đâu", [("greet", 0.6)], GOOD).kind == BANK


def test_two_close_entries_are_both_offered() -> None:
    best = LIMITS.bank + 0.2
    hits = [Hit("a", best), Hit("b", best - LIMITS.close / 2), Hit("c", best - 0.3)]
    route = decide("câu hỏi", [("nlu_fallback", 0.3)], hits)
    assert [h.key for h in route.hits] == ["a", "b"]


def test_a_fair_match_answers_only_when_clearly_ahead_of_the_next() -> None:
    fair = LIMITS.bank_low + 0.02
    ahead = [Hit("a", fair), Hit("b", fair - LIMITS.margin - 0.01)]
    level = [Hit("a", fair), Hit("b", fair - LIMITS.margin + 0.05)]
    assert decide("câu hỏi", [("nlu_fallback", 0.3)], ahead).kind == BANK
    route = decide("câu hỏi", [("nlu_fallback", 0.3)], level)  # asked which, not answered
    assert (route.kind, [h.key for h in route.hits]) == (ASK, ["a", "b"])


def test_a_button_is_never_second_guessed() -> None:
    route = decide('/choose_answer{"answer_key":"x"}', [("choose_answer", 1.0)], [])
    assert (route.kind, route.intent) == (INTENT, "choose_answer")


def test_a_place_named_with_a_place_intent_is_on_topic() -> None:
    assert not on_topic("ask_alert_level", "còn Đông Kinh thì sao")
    assert on_topic("ask_alert_level", "còn Đông Kinh thì sao", place=True)
    route = decide("còn Đông Kinh thì sao", [("ask_alert_level", SURE)], [], place=True)
    assert route.kind == INTENT


def test_the_alert_levels_words_are_a_level_not_any_cap() -> None:
    for text in ("Lạng Sơn lên cấp 3 rồi à", "giờ đang cấp mấy", "hạ cấp chưa ad", "cấp độ dịch"):
        assert on_topic("ask_alert_level", text), text
    for text in ("đăng ký nhận tin cập nhật giúp mình", "số cấp cứu là số mấy"):
        assert not on_topic("ask_alert_level", text), text


def test_report_symptoms_is_on_topic_only_with_a_symptom_or_a_reading() -> None:
    assert on_topic("report_symptoms", "con em sốt 38 độ, ho nhiều")
    assert not on_topic("report_symptoms", "vắc xin có tác dụng phụ gì")


@pytest.mark.parametrize(
    "text",
    [
        "What is the hotline number?",
        "How can I get a covid test here",
        "Where is the hospital",
        "Is Dong Dang under lockdown now?",
        "my mother has fever and cough, which hospital",
        "Bonjour, quel est le niveau d'alerte à Lạng Sơn en ce moment ?",
    ],
)
def test_english_is_told_loa_understands_vietnamese(text: str) -> None:
    assert foreign(text)
    assert decide(text, [("out_of_scope", 0.9)], []).kind == FOREIGN


@pytest.mark.parametrize(
    "text",
    [
        "the thi do la the nao",
        "toi can giup do",
        "co ai o do khong",
        "Mỹ có phong tỏa không",
        "mẹ em ở Pháp về, có phải cách ly không",
        "help me với, test nhanh ở đâu",
        "qui định cách ly y tế ở nhà thế nào",
    ],
)
def test_vietnamese_without_diacritics_is_not_english(text: str) -> None:
    assert not foreign(text)


def test_a_message_about_two_topics_asks_which() -> None:
    text = "cho xin số tổng đài, với lại đăng ký nhận thông báo ở đâu"
    ranking = [("ask_hotline", 0.48), ("subscribe_alerts", 0.42), ("greet", 0.05)]
    route = decide(text, ranking, [])
    assert (route.kind, route.choices) == (WHICH, ("ask_hotline", "subscribe_alerts"))
    sure = [("ask_hotline", SURE), ("subscribe_alerts", 0.005)]
    assert decide(text, sure, []).kind == INTENT  # one clear topic: answered


def test_the_bank_wins_over_a_sure_intent_only_beyond_its_topic_words() -> None:
    strong = max(LIMITS.bank_over, LIMITS.bank) + 0.05

    def search(words: str) -> list[Hit]:
        # An entry about food in a locked-down area: "phong toa" alone makes it match.
        folded = fold(words)
        found = "thuc pham" in folded or "phong toa" in folded
        return [Hit("lockdown-food", strong)] if found else []

    text = "khu nào đang bị phong tỏa vậy"
    route = decide(text, [("ask_lockdown_status", SURE)], search(text), search=search)
    assert (route.kind, route.intent) == (INTENT, "ask_lockdown_status")
    text = "khu bị phong tỏa thì mua thực phẩm ở đâu"
    route = decide(text, [("ask_lockdown_status", SURE)], search(text), search=search)
    assert (route.kind, route.entry) == (BANK, "lockdown-food")


# Everyday subjects that borrow Loa's topic words (issue 13): Rasa is sure of the topic, the
# subject is another one; and the same words about the epidemic, still answered.
ELSEWHERE = [
    ("ask_alert_level", "siêu bão đổ bộ đêm nay mạnh cấp mấy"),
    ("ask_alert_level", "lu quet o vung nui dang o muc canh bao nao"),
    ("ask_hotline", "cho xin số tổng đài chăm sóc khách hàng vinaphone"),
    ("ask_hotline", "hotline ngan hang agribank goi so nao"),
    ("ask_hotline", "tổng đài dịch vụ khách hàng của mobifone"),  # "dịch" of "dịch vụ"
    ("ask_support_scheme", "gói hỗ trợ lãi suất vay mua nhà của ngân hàng"),
    ("ask_lockdown_status", "thẻ atm bị khóa thì ra ngân hàng nào mở"),
    ("unsubscribe_alerts", "hủy gói cước 4g tháng này thế nào"),
    ("check_request_status", "đơn hàng shopee của tôi đã gửi chưa thấy đến"),
    ("ask_support_scheme", "công ty may ở Hữu Lũng tuyển dụng thợ, lương hỗ trợ bao nhiêu"),
]
EPIDEMIC = [
    ("ask_lockdown_status", "ngân hàng trong khu phong tỏa có mở cửa không"),
    ("ask_hotline", "tổng đài viettel có số nào báo ca F0 không"),
    ("ask_support_scheme", "ngân hàng chính sách cho vay trả lương ngừng việc ở đâu"),
    ("ask_alert_level", "đang mùa bão mà dịch ở Lạng Sơn cấp độ mấy"),
    ("ask_hotline", "tổng đài dịch vụ xét nghiệm tại nhà số mấy"),
]


@pytest.mark.parametrize(("intent", "text"), ELSEWHERE)
def test_another_everyday_subject_is_not_answered_as_loa_s_topic(intent: str, text: str) -> None:
    for written in (text, fold(text)):
        assert elsewhere(written), written
        assert decide(written, [(intent, 1.0)], STRONG).kind == UNKNOWN, written
        assert decide(written, [("out_of_scope", 0.9)], STRONG).kind == UNKNOWN, written


@pytest.mark.parametrize(("intent", "text"), EPIDEMIC)
def test_the_same_words_about_the_epidemic_are_still_answered(intent: str, text: str) -> None:
    for written in (text, fold(text)):
        assert not elsewhere(written), written
        route = decide(written, [(intent, 1.0)], WEAK, place=True)
        assert (route.kind, route.intent) == (INTENT, intent), written


@pytest.mark.parametrize(
    ("intent", "text"),
    [
        ("thank", "cảm ơn, mạng viettel nhà mình yếu nên nhắn chậm"),
        ("request_help", "nhà bị ngập lụt, hết gạo rồi, cần giúp"),
        ("report_symptoms", "mất điện từ sáng, tôi đang sốt cao và ho"),
    ],
)
def test_smalltalk_a_need_or_symptoms_with_another_subject_are_heard(
    intent: str, text: str
) -> None:
    assert elsewhere(text)
    route = decide(text, [(intent, 1.0)], [])
    assert (route.kind, route.intent) == (INTENT, intent)


@pytest.mark.parametrize(
    "text",
    ["nhà bị ngập lụt, bố tôi khó thở, môi tím tái", "mất sóng viettel, con tôi co giật"],
)
def test_a_danger_sign_wins_over_another_subject(text: str) -> None:
    assert elsewhere(text)
    assert decide(text, [("ask_hotline", 1.0)], []).kind == DANGER


def test_smalltalk_rasa_is_unsure_of_is_not_answered_as_another_one() -> None:
    assert decide("ê bạn, còn đó không", [("bot_challenge", 0.85)], []).kind == UNKNOWN
    assert decide("ê bạn, còn đó không", [("greet", 0.95)], []).kind == INTENT


def test_an_entry_the_bank_is_sure_of_competes_with_a_sure_intent_beyond_its_topic() -> None:
    sure = [Hit("disinfection", LIMITS.bank)]

    def search(words: str) -> list[Hit]:
        return sure if "khu trung" in fold(words) else []

    text = "phun thuốc khử trùng ngoài đường có tác dụng không"
    route = decide(text, [("request_help", SURE)], search(text), search=search)
    assert (route.kind, route.entry) == (BANK, "disinfection")


def test_another_smalltalk_intent_whose_words_are_there_answers_for_an_unsure_one() -> None:
    text = "ê Loa, có ở đấy không 😄"  # "có ở đấy không" is a greeting's words
    route = decide(text, [("bot_challenge", 0.84), ("greet", 0.08)], [])
    assert (route.kind, route.intent) == (INTENT, "greet")
    # … only among Rasa's first ``said_among``, and only for smalltalk Rasa put first
    far = [(f"x{i}", 0.01) for i in range(LIMITS.said_among)]
    assert decide(text, [("bot_challenge", 0.84), *far, ("greet", 0.001)], []).kind == UNKNOWN
    route = decide(text, [("ask_hotline", 0.5), ("greet", 0.3)], [])
    assert route.intent != "greet" or route.kind != INTENT


def test_symptoms_described_get_the_triage_when_nothing_else_would_answer() -> None:
    text = "Ông nhà mình 72 tuổi, sốt nhẹ 37,8, vẫn ăn cháo được, nên chăm thế nào"
    fair = [("report_symptoms", LIMITS.symptoms + 0.05)]
    route = decide(text, fair, WEAK)
    assert (route.kind, route.intent) == (INTENT, "report_symptoms")
    # Entries close enough to ask about are asked about; too unsure, or no symptom said: no
    assert decide(text, fair, FAIR).kind == ASK
    assert decide(text, [("report_symptoms", LIMITS.symptoms - 0.05)], WEAK).kind == UNKNOWN
    assert decide("ông nhà mình 72 tuổi, nên chăm thế nào", fair, WEAK).kind == UNKNOWN


def test_a_place_named_with_the_alert_levels_words_is_offered_its_level() -> None:
    # "tình hình dịch ở X": Rasa is unsure and ranks the alert level low, the bank has nothing
    text = "tinh hinh dich o xa Huu Lung may hom nay the nao roi"
    ranking = [("nlu_fallback", 0.4), ("out_of_scope", 0.32), ("ask_alert_level", 0.1)]
    route = decide(text, ranking, WEAK, place=True)
    assert (route.kind, route.choices) == (ASK, ("ask_alert_level",))
    # … for a place only, and only with the level's words
    assert decide(text, ranking, WEAK, place=False).kind == UNKNOWN
    assert decide("xa Huu Lung may hom nay the nao", ranking, WEAK, place=True).kind == UNKNOWN


def test_a_place_with_words_of_the_epidemic_is_a_question_not_a_place_alone() -> None:
    text = "xưởng gỗ ở Bắc Sơn có ai bị dương tính không, chồng em làm ở đó"
    route = decide(text, [("inform_place", 0.95)], WEAK, place=True)
    assert route.kind != INTENT
    route = decide("còn xã Bắc Sơn thì sao", [("inform_place", 0.95)], WEAK, place=True)
    assert (route.kind, route.intent) == (INTENT, "inform_place")
