"""The symbol tables: which tokens the model can read.

Two front ends, one table each (``TextConfig.input`` picks one, and the model's
embedding has one row per symbol of it):

``"chars"`` (:data:`SYMBOLS`)
    The characters text normalization (:mod:`tacolib.text`) may emit: lowercase
    letters, space and a little punctuation that carries prosody.
``"phonemes"`` (:data:`PHONEME_SYMBOLS`)
    espeak-ng's English phonemes in IPA (:mod:`tacolib.text.phonemes`): one symbol per
    phoneme (``tʃ``, ``aɪ`` and ``iː`` are one symbol each), the stress marks ``ˈ``
    (primary) and ``ˌ`` (secondary) as symbols of their own before the stressed vowel,
    the word space and the clause punctuation ``!(),.:;?``.

In both, id 0 is reserved for padding and id 1 marks the end of a sequence.
"""

PAD = "_"
EOS = "~"
PUNCTUATION = "!'(),-.:;? "
LETTERS = "abcdefghijklmnopqrstuvwxyz"

SYMBOLS: list[str] = [PAD, EOS] + list(PUNCTUATION) + list(LETTERS)
PAD_ID = 0
EOS_ID = 1
SYMBOL_TO_ID: dict[str, int] = {s: i for i, s in enumerate(SYMBOLS)}

#: Every phoneme espeak-ng 1.52 emitted, with the voice TinySpeech speaks with
#: (``tacolib.espeak``, language ``en-us``: the US dictionary, spoken with espeak's
#: default English phoneme inventory), for about 5,000 English words: the course's
#: texts, TinySpeech and the LJSpeech sample. Consonants, then vowels.
PHONEMES: tuple[str, ...] = (
    "b", "d", "dʒ", "f", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "tʃ", "v", "w", "x", "z",
    "ð", "ŋ", "ɡ", "ɬ", "ɹ", "ʃ", "ʒ", "θ", "ʔ",
    "a", "aɪ", "aɪə", "aʊ", "aʊə", "ɐ", "ɑː", "ɒ", "ɔː", "ɔɪ", "ə", "əl", "əʊ", "ɛ", "eə", "eɪ",
    "ɜː", "i", "iː", "iə", "ɪ", "uː", "ʊ", "ʊə", "ʌ",
)
STRESS = ("ˈ", "ˌ")
#: Punctuation kept between phonemes: the clause marks (apostrophes and hyphens live
#: inside words, whose phonemes say them).
PHONEME_PUNCTUATION = "!(),.:;? "
PHONEME_SYMBOLS: list[str] = [PAD, EOS] + list(PHONEME_PUNCTUATION) + list(STRESS) + list(PHONEMES)
PHONEME_TO_ID: dict[str, int] = {s: i for i, s in enumerate(PHONEME_SYMBOLS)}

#: ``TextConfig.input`` -> its symbol table, and symbol -> id.
SYMBOL_TABLES: dict[str, list[str]] = {"chars": SYMBOLS, "phonemes": PHONEME_SYMBOLS}
_IDS: dict[str, dict[str, int]] = {"chars": SYMBOL_TO_ID, "phonemes": PHONEME_TO_ID}


def symbol_table(input: str = "chars") -> list[str]:
    """The symbol list of a front end (``"chars"`` or ``"phonemes"``); raises ``ValueError`` on another name."""
    try:
        return SYMBOL_TABLES[input]
    except KeyError:
        raise ValueError(f"unknown text.input {input!r}; choose one of {sorted(SYMBOL_TABLES)}") from None


def symbol_ids(input: str = "chars") -> dict[str, int]:
    """Symbol -> id for a front end (``"chars"`` or ``"phonemes"``)."""
    symbol_table(input)
    return _IDS[input]
