"""Normalization explorer (notebook 02): type text, see every pipeline stage and the token ids.

:func:`explain` is the pure function (tested headlessly); :func:`explain_html` renders
it; :func:`normalizer_box` is the thin ipywidgets layer over both.
"""

from __future__ import annotations

import html
import warnings

from tacolib import text as T

__all__ = ["explain", "explain_html", "normalizer_box"]


def explain(raw: str) -> dict:
    """Run the normalization pipeline on ``raw`` and describe every stage.

    Returns
    -------
    dict
        ``stages``: list of ``(name, text, changed)`` (``changed``: the stage altered the
        text); ``normalized``: the final text or None; ``ids``: token ids (list of int,
        EOS included) or None; ``warnings``: messages about dropped characters;
        ``error``: the ValueError message when the text is empty or unspeakable, else None.
    """
    out = {"stages": [], "normalized": None, "ids": None, "warnings": [], "error": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", T.TextWarning)
        try:
            stages = T.normalize_steps(raw)
        except ValueError as e:
            out["error"] = str(e)
            stages = []
        prev = None
        for name, s in stages:
            out["stages"].append((name, s, prev is not None and s != prev))
            prev = s
        if stages:
            try:
                out["normalized"] = T.normalize(raw)
                out["ids"] = T.text_to_ids(out["normalized"], normalized=True).tolist()
            except ValueError as e:
                out["error"] = str(e)
    out["warnings"] = sorted({str(w.message) for w in caught if issubclass(w.category, T.TextWarning)})
    return out


def explain_html(raw: str) -> str:
    """:func:`explain` as an HTML table: one row per stage, changed stages in bold."""
    info = explain(raw)
    rows = []
    for name, s, changed in info["stages"]:
        cell = f"<b>{html.escape(s)}</b>" if changed else f"<span style='color:#888'>{html.escape(s)}</span>"
        rows.append(f"<tr><td style='text-align:left'><code>{name}</code></td><td style='text-align:left'>{cell}</td></tr>")
    parts = ["<table>" + "".join(rows) + "</table>"]
    if info["ids"] is not None:
        parts.append(f"<p><b>{len(info['ids'])} token ids</b> (EOS = 1 last): <code>{info['ids']}</code></p>")
    for w in info["warnings"]:
        parts.append(f"<p style='color:#b60'>⚠ {html.escape(w)}</p>")
    if info["error"]:
        parts.append(f"<p style='color:#c00'>ValueError: {html.escape(info['error'])}</p>")
    return "".join(parts)


def normalizer_box(initial: str = "Dr. Smith paid $3.50 at 5:30 p.m. on May 22nd, 1465."):
    """A text box; every keystroke re-runs the pipeline and shows each stage.

    Returns
    -------
    ipywidgets.VBox
        ``children[0]`` is the text box (set its ``value`` to drive it from code),
        ``children[1]`` the HTML view.
    """
    import ipywidgets as W

    box = W.Textarea(value=initial, description="text", layout=W.Layout(width="95%", height="4em"))
    view = W.HTML(value=explain_html(initial))

    def on_change(change):
        view.value = explain_html(change["new"])

    box.observe(on_change, names="value")
    return W.VBox([box, view])
