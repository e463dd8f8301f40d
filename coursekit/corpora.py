"""The workbook's own text corpora: written or generated here, small, with known structure.

No download, no third-party text. Three kinds, for units 09 and 10:

* :data:`HARBOUR_TEXT`: about seven thousand characters of the workbook's own
  prose (a small harbour town through one year), for character-level language
  models. :func:`character_text_split` cuts it into training and validation
  parts at a paragraph boundary.
* :func:`analogy_corpus`: templated sentences about countries, their capitals,
  languages and currencies, about family words in male and female forms, and
  about adjectives and their comparatives. Every word belongs to a known
  category (:data:`CATEGORIES`), so nearest neighbours can be judged, and the
  relations are known, so analogies can be scored
  (:func:`analogy_questions`). Some pairs are *held out*: no sentence ever
  names both words of a held-out pair, so an analogy about it can only be
  solved from what the two words share with others.
* Deck 002's toy sentiment task: its five movie reviews
  (:data:`TOY_REVIEWS`), its six-word vocabulary with two out-of-vocabulary
  buckets (:data:`TOY_VOCAB`, :func:`toy_index`), its 8 × 6 embedding matrix
  (:data:`TOY_EMBEDDING`), and :func:`sentiment_reviews`, many more reviews
  written from the same words, where "not" flips the sentiment.

Also deck 002's word2vec toy sentence and its index order
(:data:`QUICK_FOX`, :data:`QUICK_FOX_INDEX`) and deck 004's slot-filling
sentences (:data:`SLOT_SENTENCES`).
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

from ._validate import real_number, whole_number

__all__ = [
    "HARBOUR_TEXT", "character_text_split", "tokenize",
    "COUNTRIES", "HELD_OUT_CAPITALS", "HELD_OUT_LANGUAGES", "FAMILY_PAIRS", "COMPARATIVES", "CATEGORIES", "category_of", "relatives",
    "analogy_corpus", "analogy_questions", "AnalogyQuestion", "held_out_pairs",
    "TOY_REVIEWS", "TOY_VOCAB", "TOY_OOV_BUCKETS", "TOY_EMBEDDING", "TOY_PAD", "toy_index", "toy_encode",
    "sentiment_reviews",
    "QUICK_FOX", "QUICK_FOX_INDEX", "SLOT_SENTENCES", "SLOT_LABELS",
]


def tokenize(text: str) -> list[str]:
    """Lower-case words (letters, digits and apostrophes); punctuation is dropped."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    return re.findall(r"[a-z0-9']+", text.lower())


# ------------------------------------------------------------ prose (unit 09) ---

# Written for this workbook. Plain words, many of them repeated, so that a small
# character model can pick up spelling and common phrases in a few seconds.
HARBOUR_TEXT = """\
The harbour town sits at the end of a long road, where the land stops and the sea begins. In the morning the boats go out, and in the evening the boats come back. The gulls follow them both ways. The people of the town say that the sea is a good neighbour and a bad master, and they watch the sky before they trust it.

In winter the wind comes from the north. It is cold and grey, and the waves climb over the wall of the harbour. The boats stay in, tied with double ropes, and the fishermen mend their nets by the fire. The children walk to school with their hands in their pockets, and the baker opens his shop before the sun is up, because warm bread is the only warm thing on a winter morning.

In spring the wind turns to the west. The days grow longer, and the light on the water changes from grey to green and then to blue. The first boats go out with small crews, and the market on the square fills again. The old women sell eggs and onions, the young men sell fish, and everyone talks about the weather. A good spring, they say, is a spring with rain at night and sun in the day.

In summer the town is full of visitors. They come on the long road in their cars, and they walk on the beach, and they ask the fishermen about the boats. The fishermen are patient with them. They show the nets and the ropes, they name the fish in the boxes, and they point at the sky and say where the wind will come from tomorrow. In the evening the visitors sit by the harbour and watch the boats come back, and the light goes slowly from the water.

In autumn the visitors go home. The wind turns again, the rain comes in from the sea, and the town is quiet. The fishermen paint their boats and count their money. The baker makes a darker bread, the market sells apples and nuts, and the children collect shells on the empty beach. At night the lighthouse turns its light over the water, and the people of the town sleep well, because the boats are in and the long road is empty.

The lighthouse stands on the rock at the mouth of the harbour. It is white, with a red band near the top, and its light turns once every ten seconds. The keeper lives in a small house at its foot. He climbs the stairs every evening to clean the glass and to check the lamp, and he writes the weather in a book: the wind, the rain, the height of the waves, the colour of the sky. His book is older than he is. The first pages were written by his grandfather, and the last pages will be written by someone who is not yet born.

The keeper says that the sea has a memory. A storm far away sends its waves to the harbour two days later, when the sky above the town is already clear. A calm week leaves the water flat and the boats full. A wet spring makes a green summer, and a dry summer makes a hard winter. Nothing on the water happens alone; every day carries something of the day before. That is why he writes it all down, so that he can read the past when he wants to guess the future.

The school of the town has one long room and two teachers. In the morning the children learn to read and to count, and in the afternoon they learn the names of the winds, the fish and the stars. The teachers take them to the harbour to see the boats come in, and to the lighthouse to read the keeper's book. The children like the book best. They find the day of a great storm, and the day when the sea froze, and the day when a whale came into the harbour and stayed until the evening.

There is a boat builder at the far end of the harbour. He works in a long wooden shed that smells of tar and fresh wood. A new boat takes him a whole winter. He lays the keel in the autumn, he bends the ribs in the cold months, and he fits the planks when the days grow longer. In the spring the whole town comes to watch the boat go into the water for the first time. The children throw flowers, the fishermen shout advice, and the builder says nothing at all until the boat floats straight.

The road out of the town follows the coast for a while and then turns inland, over the hills and through the woods. In the old days it was a narrow path, and the town was alone for weeks when the snow was deep. Now the road is wide and the bus comes twice a day. The young people take the bus to the city to study, and many of them come back, because the city is loud and the sea is not there. They say that they missed the sound of the waves at night, and the smell of the harbour in the morning.

The market on the square is the heart of the town. It opens on three days of the week, in every season, and on market days the square is full of voices. The fish sellers call out the names of the fish, the farmers from the hills bring cheese and potatoes, and the baker sells his bread from a cart. People come to buy, but they also come to talk. They talk about the boats and the weather, about the school and the road, about who is ill and who is in love. By noon the square is empty again, and the gulls pick at what is left.

When a storm comes, the whole town knows it a day before. The keeper sees it in his book and in the colour of the evening sky, the fishermen feel it in the long slow waves, and the old women feel it in their knees. The boats come in early and the ropes are doubled. The shops close, the school sends the children home, and the families sit by the fire and listen to the wind. In the morning they walk to the harbour to see what the sea has done, and they help each other to repair it.

On clear nights the sky above the harbour is full of stars. The fishermen know them by name, because the stars showed their grandfathers the way home before there were lights on the coast. The children learn the names at school and then test each other on the wall of the harbour: the star that never moves, the seven sisters, the hunter with his belt. The keeper says that a star is a lighthouse that is very far away, and that its light is older than his book.

The fish come and go with the seasons. In spring the small silver fish come close to the shore, and the gulls dive for them all day long. In summer the boats follow the big fish out past the rock, and they come back late and heavy. In autumn the fish go deep, and the fishermen must go far to find them. In winter the sea is too rough to follow them at all, and the town eats what it has dried and salted in the good months.

The doctor of the town is also the teacher of music. In the morning she visits the sick, and in the evening she plays the piano in the school, and the children sing. Once a year, on the longest night of winter, the whole town comes to the long room to hear them. The fishermen stand at the back with their caps in their hands, the keeper sits in the front row, and the baker brings bread and hot wine for everyone. The wind can blow as it likes on that night: nobody listens to it.

The years pass in the harbour town like waves on the beach. No two are quite alike, and each one looks like the one before. The boats are painted and mended and painted again, the children grow up and some of them become fishermen, and the keeper's book grows thicker. The sea stays the same, and the town stays with it, at the end of the long road, where the land stops and the water begins.
"""


def character_text_split(validation_fraction: float = 0.15):
    """(train_text, validation_text): :data:`HARBOUR_TEXT` cut at a paragraph boundary.

    The validation part is the last paragraphs holding about
    ``validation_fraction`` of the characters, so the two parts never share a
    sentence: a model is judged on text it has not read.
    """
    fraction = real_number("validation_fraction", validation_fraction, 0.0, 0.5, low_open=True)
    paragraphs = HARBOUR_TEXT.strip("\n").split("\n\n")
    total = sum(len(p) for p in paragraphs)
    cut = len(paragraphs)
    while cut > 1 and sum(len(p) for p in paragraphs[cut - 1:]) <= fraction * total:
        cut -= 1
    if cut == len(paragraphs):  # keep at least one paragraph for validation
        cut -= 1
    return "\n\n".join(paragraphs[:cut]) + "\n\n", "\n\n".join(paragraphs[cut:]) + "\n"


# --------------------------------------------------- analogies (unit 10) ---

# (country, capital, language, currency). Euro countries share a currency, so
# currency analogies use the others only. Languages are unique per country here.
COUNTRIES: tuple[tuple[str, str, str, str], ...] = (
    ("italy", "rome", "italian", "euro"),
    ("germany", "berlin", "german", "euro"),
    ("france", "paris", "french", "euro"),
    ("spain", "madrid", "spanish", "euro"),
    ("greece", "athens", "greek", "euro"),
    ("portugal", "lisbon", "portuguese", "euro"),
    ("netherlands", "amsterdam", "dutch", "euro"),
    ("finland", "helsinki", "finnish", "euro"),
    ("japan", "tokyo", "japanese", "yen"),
    ("china", "beijing", "chinese", "yuan"),
    ("korea", "seoul", "korean", "won"),
    ("russia", "moscow", "russian", "ruble"),
    ("poland", "warsaw", "polish", "zloty"),
    ("sweden", "stockholm", "swedish", "krona"),
    ("turkey", "ankara", "turkish", "lira"),
    ("thailand", "bangkok", "thai", "baht"),
    ("vietnam", "hanoi", "vietnamese", "dong"),
    ("hungary", "budapest", "hungarian", "forint"),
    ("india", "delhi", "hindi", "rupee"),
    ("britain", "london", "english", "pound"),
    ("denmark", "copenhagen", "danish", "krone"),
    ("indonesia", "jakarta", "indonesian", "rupiah"),
    ("czechia", "prague", "czech", "koruna"),
    ("ukraine", "kyiv", "ukrainian", "hryvnia"),
)

# Held-out pairs: no sentence names both words. Capital-country for every fourth
# country and Germany (so that deck 004's "Rome : Italy = Berlin : ?" is answered
# from indirect evidence only); country-language for another fourth. Such a pair
# is linked only through what both words share: the language spoken in the
# capital, the currency paid there.
HELD_OUT_CAPITALS: tuple[str, ...] = tuple(
    sorted({c[0] for i, c in enumerate(COUNTRIES) if i % 4 == 1} | {"germany"}))
HELD_OUT_LANGUAGES: tuple[str, ...] = tuple(
    sorted(c[0] for i, c in enumerate(COUNTRIES) if i % 4 == 3 and c[0] not in HELD_OUT_CAPITALS))

# (male, female, a place or thing that only this pair is talked about with)
FAMILY_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("king", "queen", "palace"),
    ("prince", "princess", "castle"),
    ("uncle", "aunt", "cousins"),
    ("father", "mother", "parents"),
    ("brother", "sister", "siblings"),
    ("son", "daughter", "nursery"),
    ("husband", "wife", "wedding"),
    ("boy", "girl", "playground"),
    ("man", "woman", "office"),
    ("nephew", "niece", "birthday"),
)

# (adjective, comparative, a thing that is typically described by it)
COMPARATIVES: tuple[tuple[str, str, str], ...] = (
    ("hot", "hotter", "fire"),
    ("cold", "colder", "ice"),
    ("big", "bigger", "elephant"),
    ("small", "smaller", "mouse"),
    ("tall", "taller", "tower"),
    ("fast", "faster", "train"),
    ("slow", "slower", "snail"),
    ("old", "older", "tree"),
    ("young", "younger", "puppy"),
    ("long", "longer", "river"),
    ("warm", "warmer", "soup"),
    ("strong", "stronger", "bull"),
)

CATEGORIES: dict[str, tuple[str, ...]] = {
    "country": tuple(c[0] for c in COUNTRIES),
    "capital": tuple(c[1] for c in COUNTRIES),
    "language": tuple(c[2] for c in COUNTRIES),
    "currency": tuple(sorted({c[3] for c in COUNTRIES})),
    "family": tuple(w for p in FAMILY_PAIRS for w in p[:2]),
    "adjective": tuple(p[0] for p in COMPARATIVES),
    "comparative": tuple(p[1] for p in COMPARATIVES),
}


def category_of(word: str) -> str | None:
    """The category of ``word`` in :data:`CATEGORIES`, or None for a template word."""
    for name, words in CATEGORIES.items():
        if word in words:
            return name
    return None


def relatives(word: str) -> set[str]:
    """The words the corpus ties to ``word`` itself: a country's capital, language and
    currency (and theirs to it), a family word's partner and place, an adjective's
    other form and thing. A word's nearest neighbours are either of its own kind
    (paris → berlin) or its relatives (japan → tokyo); both are right."""
    found = set()
    for row in list(COUNTRIES) + list(FAMILY_PAIRS) + list(COMPARATIVES):
        if word in row:
            found.update(row)
    found.discard(word)
    return found


# Templates. {country}, {capital}, ... are filled with one country's words;
# {capital2}, {country2}, ... with another country's. Each template is marked with
# the pair of categories it states together, or None when it links no pair.
_COUNTRY_TEMPLATES: tuple[tuple[str, tuple[str, str] | None], ...] = (
    ("{capital} is the capital of {country}", ("capital", "country")),
    ("the capital of {country} is {capital}", ("capital", "country")),
    ("the government of {country} sits in {capital}", ("capital", "country")),
    ("people in {country} speak {language}", ("country", "language")),
    ("{language} is the language of {country}", ("country", "language")),
    ("people in {capital} speak {language}", None),
    ("on the streets of {capital} you hear {language}", None),
    ("in {country} people pay with the {currency}", None),
    ("in {capital} people pay with the {currency}", None),
    ("we flew from {capital} to {capital2} last year", None),
    ("{country} and {country2} are neighbours on the map", None),
    ("she learned {language} before she learned {language2}", None),
)

_FAMILY_TEMPLATES = (
    "the {male} walked to the {place} and he smiled",
    "the {female} walked to the {place} and she smiled",
    "he is the {male} we met at the {place}",
    "she is the {female} we met at the {place}",
    "the {male} said that he was tired",
    "the {female} said that she was tired",
)

_COMPARATIVE_TEMPLATES = (
    "the {thing} is {adjective}",
    "this {thing} is very {adjective}",
    "this {thing} is {comparative} than that {thing}",
    "the second {thing} was {comparative} than the first",
    "a {adjective} day and a {adjective2} night",
    "the {thing} grew {comparative} every year",
)


def held_out_pairs() -> set[frozenset[str]]:
    """The word pairs that no sentence of :func:`analogy_corpus` names together."""
    pairs = set()
    for country, capital, language, _ in COUNTRIES:
        if country in HELD_OUT_CAPITALS:
            pairs.add(frozenset((capital, country)))
        if country in HELD_OUT_LANGUAGES:
            pairs.add(frozenset((country, language)))
    return pairs


def analogy_corpus(n_sentences: int = 6000, seed: int = 0) -> list[str]:
    """``n_sentences`` templated sentences (lower case, no punctuation), seeded.

    About 70 % are about countries, 15 % about family words and 15 % about
    comparatives. The templates that state a held-out pair
    (:data:`HELD_OUT_CAPITALS`, :data:`HELD_OUT_LANGUAGES`) are never used for
    it: both words still appear, with the same neighbours as the others' (the
    language spoken in the capital, the currency paid there).
    """
    n_sentences = whole_number("n_sentences", n_sentences, 1, meaning="how many sentences to write")
    rng = np.random.default_rng(whole_number("seed", seed, 0, allow_float=False))
    sentences = []
    for _ in range(n_sentences):
        kind = rng.random()
        if kind < 0.70:
            i, j = rng.choice(len(COUNTRIES), size=2, replace=False)
            country, capital, language, currency = COUNTRIES[i]
            country2, capital2, language2, currency2 = COUNTRIES[j]
            held = {("capital", "country"): country in HELD_OUT_CAPITALS,
                    ("country", "language"): country in HELD_OUT_LANGUAGES}
            allowed = [t for t, pair in _COUNTRY_TEMPLATES if pair is None or not held[pair]]
            template = allowed[rng.integers(len(allowed))]
            sentences.append(template.format(country=country, capital=capital, language=language,
                                             currency=currency, country2=country2, capital2=capital2,
                                             language2=language2, currency2=currency2))
        elif kind < 0.85:
            male, female, place = FAMILY_PAIRS[rng.integers(len(FAMILY_PAIRS))]
            template = _FAMILY_TEMPLATES[rng.integers(len(_FAMILY_TEMPLATES))]
            sentences.append(template.format(male=male, female=female, place=place))
        else:
            i, j = rng.choice(len(COMPARATIVES), size=2, replace=False)
            adjective, comparative, thing = COMPARATIVES[i]
            template = _COMPARATIVE_TEMPLATES[rng.integers(len(_COMPARATIVE_TEMPLATES))]
            sentences.append(template.format(adjective=adjective, comparative=comparative, thing=thing,
                                             adjective2=COMPARATIVES[j][0]))
    return sentences


@dataclass(frozen=True)
class AnalogyQuestion:
    """a : b = c : d, e.g. rome : italy = berlin : germany, of one relation."""

    a: str
    b: str
    c: str
    d: str
    relation: str
    held_out: bool  # whether (c, d) is a held-out pair

    def __str__(self) -> str:
        return f"{self.a} : {self.b} = {self.c} : ?"


def _relation_pairs() -> dict[str, list[tuple[str, str]]]:
    return {
        "capital-country": [(c[1], c[0]) for c in COUNTRIES],
        "country-language": [(c[0], c[2]) for c in COUNTRIES],
        "country-currency": [(c[0], c[3]) for c in COUNTRIES if c[3] != "euro"],
        "male-female": [(p[0], p[1]) for p in FAMILY_PAIRS],
        "adjective-comparative": [(p[0], p[1]) for p in COMPARATIVES],
    }


def analogy_questions(held_out_only: bool = False) -> list[AnalogyQuestion]:
    """Every analogy a : b = c : d between two pairs of one relation.

    With ``held_out_only=True``, only the questions whose answer pair (c, d)
    is held out and whose example pair (a, b) is stated in the corpus: the
    pair asked about was never seen together.
    """
    held = held_out_pairs()
    questions = []
    for relation, pairs in _relation_pairs().items():
        for a, b in pairs:
            for c, d in pairs:
                if (a, b) == (c, d):
                    continue
                is_held = frozenset((c, d)) in held
                if held_out_only and (not is_held or frozenset((a, b)) in held):
                    continue
                questions.append(AnalogyQuestion(a, b, c, d, relation, is_held))
    return questions


# ------------------------------------------------- sentiment (deck 002, W07) ---

# The five reviews of deck 002 as written on its vocabulary slide, with their labels (1 positive).
TOY_REVIEWS: tuple[tuple[str, int], ...] = (
    ("I like this movie", 1),
    ("This is a bad movie to watch", 0),
    ("I love this movie", 1),
    ("I do not recommend you to watch this movie", 0),
    ("This movie is fantastic", 1),
)

# The deck's vocabulary: six words keep their own index.
TOY_VOCAB: dict[str, int] = {"like": 1, "love": 2, "bad": 3, "fantastic": 4, "not": 5, "recommend": 6}
# Every other word goes to one of two "out of vocabulary" buckets, 7 or 8. The
# deck assigns these words by hand; any other word is hashed (CRC-32, stable
# across machines and Python runs) into one of the two.
TOY_OOV_BUCKETS: dict[str, int] = {"i": 7, "movie": 7, "to": 7, "<pad>": 7, "this": 8, "is": 8, "watch": 8}
TOY_PAD = "<pad>"

# Deck 002's embedding matrix E (8 × 6): row k is the vector of index k (1-based on the slide).
TOY_EMBEDDING = np.array([
    [1.0, 2.0, 1.5, -1.2, 1.3, 1.0],
    [-1.0, 1.3, -2.5, -1.2, 1.6, -1.0],
    [1.0, 3.3, -3.5, -1.0, 2.6, 1.0],
    [-1.0, 1.3, -2.5, -1.2, 1.8, -1.0],
    [-1.2, 2.3, -2.5, -1.2, -1.6, 1.0],
    [-1.7, -1.3, -2.5, -1.2, 3.6, 1.2],
    [-4.2, 2.3, -3.5, 4.3, 1.8, -2.0],
    [-1.7, -1.3, -4.5, -2.2, -3.6, 1.0],
])


def toy_index(word: str) -> int:
    """Deck 002's index of ``word`` (1..8): its own index for the six vocabulary
    words, else an out-of-vocabulary bucket, 7 or 8."""
    if not isinstance(word, str):
        raise ValueError(f"word must be a string, got {type(word).__name__}")
    word = word.lower()
    if word in TOY_VOCAB:
        return TOY_VOCAB[word]
    if word in TOY_OOV_BUCKETS:
        return TOY_OOV_BUCKETS[word]
    return 7 + zlib.crc32(word.encode("utf-8")) % 2


def toy_encode(sentence: str, length: int | None = None) -> list[int]:
    """The deck's indices of a sentence's words, padded with ``<pad>`` (index 7,
    as on the slide) or cut to ``length``."""
    words = sentence.split()
    if length is not None:
        length = whole_number("length", length, 1)
        words = (words + [TOY_PAD] * length)[:length]
    return [toy_index(w) for w in words]


_SUBJECTS = ("i", "we", "they", "my friends", "the critics")
_OBJECTS = ("this movie", "the movie", "that movie", "this film", "the story")
_ADVERBS = ("", "really ", "truly ")


def _one_review(rng: np.random.Generator, negated: bool) -> tuple[str, int]:
    """One review and its label; ``negated`` puts a "not" before the sentiment word."""
    pick = lambda options: options[rng.integers(len(options))]  # noqa: E731
    kind = rng.integers(4)
    if kind == 0:    # a verb: like / love / recommend, positive unless negated
        text = f"{pick(_SUBJECTS)} {'do not ' if negated else ''}{pick(_ADVERBS)}" \
               f"{pick(('like', 'love', 'recommend'))} {pick(_OBJECTS)}"
        positive = True
    elif kind == 1:  # the deck's fourth review, in both polarities
        text = f"i {'do not ' if negated else ''}recommend you to watch {pick(_OBJECTS)}"
        positive = True
    else:            # an adjective: fantastic (positive) or bad (negative)
        adjective = pick(("fantastic", "bad"))
        positive = adjective == "fantastic"
        neg = "not " if negated else ""
        if kind == 2:
            text = f"{pick(_OBJECTS)} {pick(('is', 'was'))} {neg}{pick(_ADVERBS)}{adjective}"
        else:
            text = f"this is {neg}a {pick(_ADVERBS)}{adjective} movie to watch"
    return text, int(positive != negated)


def sentiment_reviews(n: int = 400, seed: int = 0, negation_rate: float = 0.4):
    """``n`` short reviews written with deck 002's toy vocabulary, with labels.

    Sentiment words: like, love, recommend, fantastic (positive) and bad
    (negative); every other word lands in an out-of-vocabulary bucket. A
    "not" (with "do" before a verb, as in the deck's fourth review) flips the
    sentiment, so "the movie was not bad" is positive and "the movie was not
    fantastic" negative: the label is an XOR of "not" and the word's
    polarity, which a model that only adds up word vectors cannot learn and a
    model that reads the words in order can.

    Returns ``(sentences, labels)``: a list of lower-case strings and an int64
    array of 0 (negative) / 1 (positive). The deck's five reviews come first.
    """
    n = whole_number("n", n, len(TOY_REVIEWS), meaning="how many reviews, the deck's five included")
    rate = real_number("negation_rate", negation_rate, 0.0, 1.0)
    rng = np.random.default_rng(whole_number("seed", seed, 0, allow_float=False))
    sentences = [s.lower() for s, _ in TOY_REVIEWS]
    labels = [y for _, y in TOY_REVIEWS]
    while len(sentences) < n:
        text, label = _one_review(rng, bool(rng.random() < rate))
        sentences.append(text)
        labels.append(label)
    return sentences, np.asarray(labels, dtype=np.int64)


# ------------------------------------------------ word2vec toy (deck 002, W08) ---

QUICK_FOX = "the quick brown fox jumps over the lazy dog"
# The deck's own index order for its eight distinct words (1-based, as printed).
QUICK_FOX_INDEX: dict[str, int] = {"brown": 1, "lazy": 2, "over": 3, "fox": 4, "dog": 5, "quick": 6, "the": 7,
                                   "jumps": 8}

# ------------------------------------------------- slot filling (deck 004) ---

# Deck 004's flight-booking sentences, with one slot label per word.
SLOT_SENTENCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("arrive taipei on november 2nd", ("other", "dest", "other", "time", "time")),
    ("leave taipei on november 2nd", ("other", "depart", "other", "time", "time")),
)
SLOT_LABELS = ("other", "dest", "depart", "time")
