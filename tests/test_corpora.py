"""coursekit.corpora: the structure each corpus promises (sizes, seeds, held-out pairs,
labels that follow from the words), checked from the generated text itself."""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from coursekit import corpora as C


def test_harbour_text_is_a_few_thousand_characters_split_at_a_paragraph():
    assert 5000 < len(C.HARBOUR_TEXT) < 10000
    train, val = C.character_text_split()
    assert train.rstrip("\n") + "\n\n" + val == C.HARBOUR_TEXT.strip("\n") + "\n"
    assert 0.08 < len(val) / len(C.HARBOUR_TEXT) < 0.2
    assert not set(re.split(r"(?<=\.) ", val)) & set(re.split(r"(?<=\.) ", train)) - {""}
    assert set(val) <= set(train)            # every validation character was seen in training
    with pytest.raises(ValueError, match="validation_fraction"):
        C.character_text_split(0.9)


def test_analogy_corpus_is_seeded_and_uses_only_known_words():
    a, b = C.analogy_corpus(300, seed=4), C.analogy_corpus(300, seed=4)
    assert a == b and a != C.analogy_corpus(300, seed=5) and len(a) == 300
    words = Counter(w for s in C.analogy_corpus(3000) for w in s.split())
    every_category_word = {w for ws in C.CATEGORIES.values() for w in ws}
    assert every_category_word <= set(words)          # every word of every category occurs
    assert len(words) < 250


def test_held_out_pairs_never_share_a_sentence_and_still_occur():
    sentences = [set(s.split()) for s in C.analogy_corpus(6000, seed=0)]
    held = C.held_out_pairs()
    assert frozenset(("berlin", "germany")) in held and frozenset(("rome", "italy")) not in held
    assert len(held) >= 10
    for pair in held:
        assert not any(pair <= s for s in sentences), f"{set(pair)} appear together"
        for word in pair:
            assert any(word in s for s in sentences)
    stated = [frozenset((c[1], c[0])) for c in C.COUNTRIES if c[0] not in C.HELD_OUT_CAPITALS]
    assert all(any(p <= s for s in sentences) for p in stated)


def test_analogy_questions_follow_the_tables():
    qs = C.analogy_questions()
    rome = [q for q in qs if (q.a, q.b, q.c) == ("rome", "italy", "berlin")]
    assert len(rome) == 1 and rome[0].d == "germany" and rome[0].held_out
    assert all(q.d != "euro" and q.b != "euro" for q in qs if q.relation == "country-currency")
    held = C.analogy_questions(held_out_only=True)
    assert held and all(q.held_out for q in held)
    assert all(frozenset((q.a, q.b)) not in C.held_out_pairs() for q in held)
    assert {q.relation for q in qs} == {"capital-country", "country-language", "country-currency", "male-female",
                                        "adjective-comparative"}
    assert ("king", "queen") in {(q.a, q.b) for q in qs} and ("hot", "hotter") in {(q.a, q.b) for q in qs}


def test_categories_and_relatives():
    assert C.category_of("paris") == "capital" and C.category_of("yen") == "currency"
    assert C.category_of("queen") == "family" and C.category_of("the") is None
    assert C.relatives("japan") == {"tokyo", "japanese", "yen"}
    assert C.relatives("queen") == {"king", "palace"}
    sizes = {k: len(v) for k, v in C.CATEGORIES.items()}
    assert sizes["country"] == sizes["capital"] == sizes["language"] == len(C.COUNTRIES)


def test_toy_vocabulary_is_deck_002s():
    assert C.TOY_EMBEDDING.shape == (8, 6)
    assert [C.toy_index(w) for w in "like love bad fantastic not recommend".split()] == [1, 2, 3, 4, 5, 6]
    assert [C.toy_index(w) for w in ["I", "movie", "to", "<pad>"]] == [7, 7, 7, 7]
    assert [C.toy_index(w) for w in ["This", "is", "watch"]] == [8, 8, 8]
    assert C.toy_index("zebra") in (7, 8) and C.toy_index("zebra") == C.toy_index("ZEBRA")
    assert C.toy_encode("I like this movie") == [7, 1, 8, 7]


def test_sentiment_labels_follow_from_not_and_the_words_polarity():
    sentences, labels = C.sentiment_reviews(500, seed=3)
    assert len(sentences) == 500 and labels.dtype == np.int64
    assert [s for s in sentences[:5]] == [s.lower() for s, _ in C.TOY_REVIEWS]
    for text, label in zip(sentences, labels):
        words = text.split()
        negated = "not" in words
        positive_word = any(w in ("like", "love", "recommend", "fantastic") for w in words)
        assert ("bad" in words) != positive_word, text
        assert label == int(positive_word != negated), text
    assert 0.3 < labels.mean() < 0.7
    negated = np.array(["not" in s.split() for s in sentences])
    assert 0.25 < negated.mean() < 0.55
    assert len(set(sentences)) > 150                      # enough distinct reviews to hold some out
    assert C.sentiment_reviews(50, seed=1)[0] == C.sentiment_reviews(50, seed=1)[0]


def test_slot_sentences_need_memory():
    (arrive, arrive_slots), (leave, leave_slots) = C.SLOT_SENTENCES
    assert arrive.split()[1] == leave.split()[1] == "taipei"
    assert arrive_slots[1] != leave_slots[1]           # the same word, two slots: only the past tells them apart
    assert set(arrive_slots + leave_slots) <= set(C.SLOT_LABELS)


def test_tokenize_and_argument_checks():
    assert C.tokenize("Rome is the capital of Italy, isn't it?") == ["rome", "is", "the", "capital", "of", "italy",
                                                                     "isn't", "it"]
    with pytest.raises(ValueError, match="n_sentences must be a positive whole number"):
        C.analogy_corpus(0)
    with pytest.raises(ValueError, match="n must be a whole number >= 5"):
        C.sentiment_reviews(3)
