"""The gallery page: escaped text, relative copies, fallbacks, a batch on one page."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from typing import Any

from creatok_graph.gallery import GalleryEntry, render
from creatok_graph.messages import text

URL = "https://cdn.example/a/0.png?X-Amz-Date=1&X-Amz-Signature=ff"


def _record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "run_id": "r1", "task_id": "task_1", "status": "succeeded", "model": "nano-banana-2",
        "resolution": "2K", "aspect_ratio": "16:9", "estimated_credits": 2,
        "prompt": "a fox", "images": [
            {"url": URL, "file": "images/image-1.png", "sha256": "0" * 64, "bytes": 10,
             "content_type": "image/png", "width": 128, "height": 72},
        ],
    }
    record.update(changes)
    return record


def test_every_text_is_escaped() -> None:
    hostile = '<script>alert(1)</script>" onload="x'
    page = render([GalleryEntry(_record(prompt=hostile, model=hostile, task_id=hostile))],
                  lang="en")
    assert "<script>alert" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;&quot; onload=&quot;x") == 3
    assert len(re.findall(r"<script>", page)) == 1  # only the page's own


def test_the_copy_is_shown_and_the_original_linked_verbatim() -> None:
    page = render([GalleryEntry(_record())], lang="en")
    assert 'src="images/image-1.png"' in page
    assert f'href="{URL.replace("&", "&amp;")}"' in page  # the signed URL, escaped, unchanged
    assert f'data-remote="{URL.replace("&", "&amp;")}"' in page
    for shown in ("nano-banana-2", "2K", "16:9", "task_1", "a fox", "128×72", "PNG"):
        assert shown in page


def test_a_missing_copy_falls_back_to_the_link() -> None:
    page = render([GalleryEntry(_record(), present=frozenset())], lang="en")
    assert 'src="images/image-1.png"' not in page
    assert f'src="{URL.replace("&", "&amp;")}"' in page


def test_only_web_links_become_sources_or_links() -> None:
    images = [{"url": "javascript:alert(1)", "file": None, "error": {"kind": "expired"}}]
    page = render([GalleryEntry(_record(images=images))], lang="en")
    assert "javascript:" not in page
    assert 'data-state="broken"' in page
    assert text("en", "gallery_expired") in page


def test_a_batch_is_one_page_of_generations() -> None:
    second = _record(run_id="r2", task_id="task_2", prompt="an owl")
    page = render([GalleryEntry(_record(), base="r1/outputs/"),
                   GalleryEntry(second, base="r2/outputs/")], lang="ja")
    assert page.count("<section>") == 2
    assert 'src="r1/outputs/images/image-1.png"' in page
    assert 'src="r2/outputs/images/image-1.png"' in page
    assert text("ja", "gallery_title") in page and 'lang="ja"' in page
    assert text("ja", "n_images_many", n=2) in page


def test_the_pages_script_is_allowed_by_its_own_policy_and_nothing_else_is() -> None:
    page = render([GalleryEntry(_record())], lang="en")
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert policy is not None
    rules = html.unescape(policy.group(1))
    assert f"script-src 'sha256-{digest}'" in rules
    assert "default-src 'none'" in rules
    assert not re.search(r'(src|href)="(https?:)?//(?!cdn\.example)', page)  # no assets
