"""A page to look at: ``outputs/index.html``, self-contained, in the person's language.

No external assets: the CSS and one small script are inline, images are referenced by
their path relative to the page (the downloaded copies), falling back to the original
URL when a copy is missing. Every text is HTML-escaped, and only http(s) URLs become
links. A batch is the same page over several generations: :func:`render` takes a list.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from . import artifacts
from .messages import text

PAGE_NAME = "index.html"


@dataclass(frozen=True)
class GalleryEntry:
    """One generation on a page: its result record, and where its files are from the page.

    ``base`` is the path from the page's folder to the generation's ``outputs`` folder
    ("" when the page sits in it). ``present`` names the files known to exist; None means
    trust the record.
    """

    record: Mapping[str, Any]
    base: str = ""
    present: frozenset[str] | None = None


_SCRIPT = """(function () {
  function settle(img) {
    var figure = img.closest("figure");
    if (img.naturalWidth > 0) { figure.setAttribute("data-state", "loaded"); return; }
    var remote = img.getAttribute("data-remote");
    if (remote && img.getAttribute("src") !== remote) { img.setAttribute("src", remote); return; }
    figure.setAttribute("data-state", "broken");
  }
  document.querySelectorAll("figure img").forEach(function (img) {
    img.addEventListener("load", function () { settle(img); });
    img.addEventListener("error", function () { settle(img); });
    if (img.complete) { settle(img); }
  });
})();"""
"""Marks each figure loaded or broken (CSS shows a note instead of a broken image), and
tries the original URL when the local copy will not load."""

_CSP = (
    "default-src 'none'; img-src * data: file:; style-src 'unsafe-inline'; "
    "script-src 'sha256-"
    + base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    + "'"
)

_CSS = """
:root { color-scheme: light dark; --bg: #f4f5f7; --card: #fff; --text: #1b2130;
  --muted: #5f6877; --line: #e2e5ea; --chip: #f0f2f5; --accent: #4338ca; --warn: #b45309;
  --check: #e9ebef; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0e1116; --card: #161a21; --text: #e6e9ef; --muted: #9aa3b2; --line: #272d37;
    --chip: #1e232c; --accent: #a5b4fc; --warn: #fbbf24; --check: #1b2029; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "PingFang SC",
  "Hiragino Sans", "Malgun Gothic", sans-serif; }
header, main { max-width: 1180px; margin: 0 auto; padding: 0 28px; }
header { padding-top: 32px; }
h1 { margin: 0; font-size: 24px; letter-spacing: -0.01em; }
header p { margin: 4px 0 0; color: var(--muted); }
main { padding-bottom: 48px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 16px;
  padding: 24px; margin-top: 20px; box-shadow: 0 1px 3px rgba(15, 23, 42, 0.06); }
.label { margin: 0 0 4px; color: var(--muted); font-size: 12px; font-weight: 600;
  text-transform: uppercase; letter-spacing: 0.06em; }
blockquote { margin: 0 0 16px; font-size: 18px; line-height: 1.45; white-space: pre-wrap;
  overflow-wrap: anywhere; }
dl { display: flex; flex-wrap: wrap; gap: 8px; margin: 0 0 20px; }
dl div { background: var(--chip); border: 1px solid var(--line); border-radius: 999px;
  padding: 3px 12px; font-size: 13px; }
dt { display: inline; color: var(--muted); }
dd { display: inline; margin: 0 0 0 6px; font-weight: 600; overflow-wrap: anywhere; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12px; font-weight: 500; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr));
  gap: 18px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 12px; overflow: hidden;
  background: var(--card); display: flex; flex-direction: column; }
figure > a { display: block; background: repeating-conic-gradient(var(--check) 0 25%,
  transparent 0 50%) 0 0 / 16px 16px; }
figure img { display: block; width: 100%; height: auto; }
figure .gone { display: none; padding: 48px 16px; text-align: center; color: var(--muted);
  background: var(--chip); }
figure[data-state="broken"] > a { display: none; }
figure[data-state="broken"] .gone { display: block; }
figcaption { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 4px 12px;
  padding: 10px 12px; font-size: 13px; color: var(--muted); }
figcaption strong { color: var(--text); }
figcaption a { color: var(--accent); text-decoration: none; white-space: nowrap; }
figcaption a:hover { text-decoration: underline; }
.note { flex-basis: 100%; color: var(--warn); }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _web_url(value: Any) -> str | None:
    """Only http(s) URLs become links or image sources (never ``javascript:``)."""
    if isinstance(value, str) and urlsplit(value).scheme.lower() in ("http", "https"):
        return value
    return None


def _size_label(size: Any) -> str:
    if not isinstance(size, int):
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _figure(lang: str, gen: GalleryEntry, index: int, image: Any) -> str:
    image = image if isinstance(image, Mapping) else {"url": image}
    remote = _web_url(image.get("url"))
    local = image.get("file") if isinstance(image.get("file"), str) else None
    if local and gen.present is not None and local not in gen.present:
        local = None
    src = gen.base + quote(local) if local else remote
    facts = []
    if image.get("width") and image.get("height"):
        facts.append(f"{image['width']}×{image['height']}")
    if local and isinstance(image.get("content_type"), str):
        facts.append(image["content_type"].removeprefix("image/").upper())
    if local:
        facts.append(_size_label(image.get("bytes")))
    caption = f"<strong>{_e(text(lang, 'gallery_image', index=index))}</strong>" + "".join(
        f" · {_e(fact)}" for fact in facts if fact)
    links = (f'<a href="{_e(remote)}" target="_blank" rel="noopener noreferrer">'
             f'{_e(text(lang, "gallery_original"))} ↗</a>' if remote else "")
    note = ""
    error = image.get("error") if "file" in image and not local else None
    if isinstance(error, Mapping):
        key = "gallery_expired" if error.get("kind") == "expired" else "gallery_not_saved"
        note = f'<span class="note" title="{_e(error.get("message", ""))}">' \
               f"{_e(text(lang, key))}</span>"
    alt = _e(text(lang, "gallery_image", index=index))
    size_attrs = ""
    if isinstance(image.get("width"), int) and isinstance(image.get("height"), int):
        size_attrs = f' width="{image["width"]}" height="{image["height"]}"'
    if src:
        remote_attr = f' data-remote="{_e(remote)}"' if local and remote else ""
        picture = (f'<a href="{_e(src)}"><img src="{_e(src)}" alt="{alt}"{size_attrs}'
                   f'{remote_attr}></a>')
        state = ""
    else:
        picture, state = "", ' data-state="broken"'
    return (f"<figure{state}>{picture}"
            f'<div class="gone">{_e(text(lang, "gallery_unavailable"))}</div>'
            f"<figcaption><span>{caption}</span>{links}{note}</figcaption></figure>")


def _section(lang: str, gen: GalleryEntry) -> str:
    record = gen.record
    chips = []
    for key, field, mono in (
        ("gallery_model", "model", False), ("gallery_resolution", "resolution", False),
        ("gallery_aspect_ratio", "aspect_ratio", False),
        ("gallery_credits", "estimated_credits", False), ("gallery_task", "task_id", True),
        ("gallery_run", "run_id", True),
    ):
        value = record.get(field)
        if value not in (None, ""):
            cls = ' class="mono"' if mono else ""
            chips.append(f"<div><dt>{_e(text(lang, key))}</dt><dd{cls}>{_e(value)}</dd></div>")
    prompt = record.get("prompt")
    head = (f'<p class="label">{_e(text(lang, "gallery_prompt"))}</p>'
            f"<blockquote>{_e(prompt)}</blockquote>" if prompt else "")
    figures = "".join(_figure(lang, gen, i, image)
                      for i, image in enumerate(record.get("images") or [], 1))
    return f'<section>{head}<dl>{"".join(chips)}</dl><div class="grid">{figures}</div></section>'


def render(generations: Sequence[GalleryEntry], *, lang: str) -> str:
    """The whole page for one or more generations (a batch is just a longer list)."""
    count = sum(len(g.record.get("images") or []) for g in generations)
    title = text(lang, "gallery_title")
    subtitle = text(lang, "n_images_one") if count == 1 else text(lang, "n_images_many", n=count)
    sections = "".join(_section(lang, g) for g in generations)
    return (
        "<!doctype html>\n"
        f'<html lang="{_e(lang)}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n"
        f"<body><header><h1>{_e(title)}</h1><p>{_e(subtitle)}</p></header>"
        f"<main>{sections}</main><script>{_SCRIPT}</script></body></html>\n"
    )


def write_run_gallery(root: str, run_id: str, record: Mapping[str, Any], lang: str) -> Path:
    """Write ``outputs/index.html`` for one run (blocking); copies not on disk fall back."""
    outputs = artifacts.outputs_dir(root, run_id)
    present = frozenset(
        image["file"] for image in record.get("images") or []
        if isinstance(image, Mapping) and isinstance(image.get("file"), str)
        and (outputs / image["file"]).is_file()
    )
    page = outputs / PAGE_NAME
    artifacts.atomic_write(page, render([GalleryEntry(record, present=present)], lang=lang))
    return page
