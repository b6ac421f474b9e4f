"""The symbol table: which characters the model can read.

Id 0 is reserved for padding and id 1 marks the end of a sequence. The rest are the
characters that text normalization (:mod:`tacolib.text`) is allowed to emit:
lowercase letters, space and a little punctuation that carries prosody.
"""

PAD = "_"
EOS = "~"
PUNCTUATION = "!'(),-.:;? "
LETTERS = "abcdefghijklmnopqrstuvwxyz"

SYMBOLS: list[str] = [PAD, EOS] + list(PUNCTUATION) + list(LETTERS)
PAD_ID = 0
EOS_ID = 1
SYMBOL_TO_ID: dict[str, int] = {s: i for i, s in enumerate(SYMBOLS)}
