"""Money: currency signs and codes, cents, scales, ranges, negative amounts.

``$3.50`` -> "three dollars, fifty cents"; ``US$4.2 billion`` -> "four point two billion
U S dollars"; ``€3m`` -> "three million euros"; ``$20-$30`` -> "twenty dollars to thirty
dollars"; ``$5-10`` -> "five to ten dollars"; ``$-5`` and ``-$5`` -> "minus five dollars";
``CHF 20`` -> "twenty Swiss francs"; ``20 EUR``, ``20 €`` -> "twenty euros". The unit is
said after the number, where a reader says it.
"""

from __future__ import annotations

import re

from tacolib.text.words import NUMBER, decimal_to_words, number_to_words

__all__ = ["CURRENCIES", "currency_to_words", "expand_currency", "remove_number_commas"]

# sign or code -> (one, many, one hundredth, many hundredths); None: no hundredths said
CURRENCIES: dict[str, tuple[str, str, str | None, str | None]] = {
    "$": ("dollar", "dollars", "cent", "cents"), "US$": ("U S dollar", "U S dollars", "cent", "cents"),
    "A$": ("Australian dollar", "Australian dollars", "cent", "cents"),
    "C$": ("Canadian dollar", "Canadian dollars", "cent", "cents"),
    "NZ$": ("New Zealand dollar", "New Zealand dollars", "cent", "cents"),
    "HK$": ("Hong Kong dollar", "Hong Kong dollars", "cent", "cents"),
    "S$": ("Singapore dollar", "Singapore dollars", "cent", "cents"),
    "R$": ("real", "reais", "centavo", "centavos"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", None, None),
    "₩": ("won", "won", None, None),
    "₹": ("rupee", "rupees", "paisa", "paise"),
    "Rs.": ("rupee", "rupees", "paisa", "paise"),
    "₽": ("ruble", "rubles", "kopek", "kopeks"),
    "₪": ("shekel", "shekels", "agora", "agorot"),
    "₱": ("peso", "pesos", "centavo", "centavos"),
    "₺": ("lira", "lira", "kurus", "kurus"),
    "¢": ("cent", "cents", None, None),
    "USD": ("U S dollar", "U S dollars", "cent", "cents"),
    "EUR": ("euro", "euros", "cent", "cents"),
    "GBP": ("pound", "pounds", "penny", "pence"),
    "JPY": ("yen", "yen", None, None),
    "CNY": ("yuan", "yuan", None, None),
    "RMB": ("yuan", "yuan", None, None),
    "CHF": ("Swiss franc", "Swiss francs", "centime", "centimes"),
    "CAD": ("Canadian dollar", "Canadian dollars", "cent", "cents"),
    "AUD": ("Australian dollar", "Australian dollars", "cent", "cents"),
    "NZD": ("New Zealand dollar", "New Zealand dollars", "cent", "cents"),
    "HKD": ("Hong Kong dollar", "Hong Kong dollars", "cent", "cents"),
    "SGD": ("Singapore dollar", "Singapore dollars", "cent", "cents"),
    "INR": ("rupee", "rupees", "paisa", "paise"),
    "KRW": ("won", "won", None, None),
    "RUB": ("ruble", "rubles", "kopek", "kopeks"),
    "MXN": ("Mexican peso", "Mexican pesos", "centavo", "centavos"),
    "BRL": ("real", "reais", "centavo", "centavos"),
    "SEK": ("Swedish krona", "Swedish kronor", None, None),
    "NOK": ("Norwegian krone", "Norwegian kroner", None, None),
    "DKK": ("Danish krone", "Danish kroner", None, None),
    "ZAR": ("rand", "rand", "cent", "cents"),
    "BTC": ("bitcoin", "bitcoins", None, None),
}
_SCALES = {
    "thousand": "thousand", "k": "thousand", "K": "thousand",
    "million": "million", "m": "million", "M": "million", "mn": "million", "mil": "million",
    "billion": "billion", "b": "billion", "B": "billion", "bn": "billion",
    "trillion": "trillion", "t": "trillion", "T": "trillion", "tn": "trillion",
}

_NUM = NUMBER
_SCALE = r"(?:\s?(?:thousand|million|billion|trillion|bn|mn|tn|mil)|[kKmMbBtT])(?![\w])"
_CODES = "|".join(k for k in CURRENCIES if k.isalpha())
_SIGNS = "|".join(re.escape(k) for k in sorted((k for k in CURRENCIES if not k.isalpha()), key=len, reverse=True))
_BEFORE = rf"(?:US\s?\$|{_SIGNS}|{_CODES})\s?"
_BEFORE_RE = re.compile(
    rf"(?<![\w.])(?P<neg>[-−])?(?P<cur>{_BEFORE})(?P<neg2>[-−])?(?P<amt>{_NUM})(?P<scale>{_SCALE})?"
    rf"(?:\s?[-–]\s?(?P<cur2>{_BEFORE})?(?P<amt2>{_NUM})(?P<scale2>{_SCALE})?)?(?!\d)"
)
_AFTER_RE = re.compile(
    rf"(?<![\w.])(?P<neg>[-−])?(?P<amt>{_NUM})(?P<scale>{_SCALE})?\s?(?P<cur>{_CODES}|[€£¥₩₹₽₪₱₺¢$])(?![\w])"
)
_COMMA_NUMBER_RE = re.compile(r"(?<![\d,])\d{1,3}(?:,\d{3})+(?![\d])")


def remove_number_commas(text: str) -> str:
    """``12,000`` -> ``12000`` (comma-grouped thousands only; "1,23" is left alone)."""
    return _COMMA_NUMBER_RE.sub(lambda m: m.group(0).replace(",", ""), text)


def _amount_words(amount: str) -> str:
    return decimal_to_words(amount) if "." in amount else number_to_words(amount)


def currency_to_words(symbol: str, amount: str, scale: str = "") -> str:
    """An amount of money in words.

    Parameters
    ----------
    symbol : str
        A sign or code of :data:`CURRENCIES` (``$ £ € ¥ ₩ ₹ USD EUR CHF ...``).
    amount : str
        Digits with an optional decimal part (commas allowed): ``"3.50"``, ``"1,250"``.
    scale : str
        Optional ``"thousand"``, ``"million"``, ``"billion"``, ``"trillion"`` (or ``k m bn ...``).

    Examples
    --------
    >>> currency_to_words("$", "3.50")
    'three dollars, fifty cents'
    >>> currency_to_words("£", "100")
    'one hundred pounds'
    >>> currency_to_words("$", "2.5", "million")
    'two point five million dollars'
    """
    symbol = re.sub(r"\s", "", symbol)
    if symbol not in CURRENCIES:
        raise ValueError(f"unknown currency {symbol!r}; known signs and codes: {' '.join(CURRENCIES)}")
    one, many, sub_one, sub_many = CURRENCIES[symbol]
    amount = amount.replace(",", "")
    if scale:
        return f"{_amount_words(amount)} {_SCALES.get(scale.strip(), scale.strip())} {many}"
    whole, _, frac = amount.partition(".")  # ".01": whole is ""
    if len(frac) > 2 and not frac[2:].strip("0"):
        frac = frac[:2]  # "$2.000" is two dollars
    if frac and (len(frac) > 2 or sub_one is None):  # not a price: the number, then the unit
        return f"{_amount_words(amount)} {many}"
    whole_n = int(whole or 0)
    cents_n = int(frac.ljust(2, "0")) if frac else 0
    parts = []
    if whole_n or not cents_n:
        parts.append(f"{number_to_words(whole_n)} {one if whole_n == 1 else many}")
    if cents_n:
        parts.append(f"{number_to_words(cents_n)} {sub_one if cents_n == 1 else sub_many}")
    return ", ".join(parts)


def expand_currency(text: str) -> str:
    """Money in words: signs and codes before or after the amount, scales, ranges, signs.

    ``$3.50`` -> "three dollars, fifty cents", ``£100`` -> "one hundred pounds",
    ``$2.5 million`` -> "two point five million dollars", ``€3m`` -> "three million
    euros", ``$20-$30`` -> "twenty dollars to thirty dollars", ``$5-10`` -> "five to
    ten dollars", ``-$5`` -> "minus five dollars", ``50 USD`` -> "fifty U S dollars".
    """

    def before(m: re.Match) -> str:
        minus = "minus " if (m.group("neg") or m.group("neg2")) else ""
        cur = "US$" if m.group("cur").replace(" ", "") == "US$" else m.group("cur")
        first = currency_to_words(cur, m.group("amt"), m.group("scale") or "")
        if m.group("amt2") is None:
            return minus + first
        second = currency_to_words(m.group("cur2") or cur, m.group("amt2"), m.group("scale2") or m.group("scale") or "")
        if m.group("cur2") is None and not m.group("scale") and "." not in m.group("amt"):
            first = _amount_words(m.group("amt"))  # "$5-10": five to ten dollars
        elif m.group("cur2") is None and m.group("scale") and not m.group("scale2"):
            first = f"{_amount_words(m.group('amt'))} {_SCALES[m.group('scale').strip()]}"
        return f"{minus}{first} to {second}"

    def after(m: re.Match) -> str:
        minus = "minus " if m.group("neg") else ""
        return minus + currency_to_words(m.group("cur"), m.group("amt"), m.group("scale") or "")

    text = _BEFORE_RE.sub(before, text)
    return _AFTER_RE.sub(after, text)
