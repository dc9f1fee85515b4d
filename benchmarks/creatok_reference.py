"""CreatOK's own image client, re-implemented for the benchmark (standard library only).

What ``EchoSell/creatok-skills`` ``skills/creatok-generate-image/scripts/run.js --yes``
does, step by step (behaviour re-implemented, not its code):

1. ``resolveCommandArgs``: GET capabilities (model defaults and limits).
2. no confirmation with ``--yes``.
3. ``runGenerateImage``: GET capabilities again (``resolveGenerateImageRequest``),
   create the artifacts folder, POST the submit, write ``outputs/result.json`` and
   ``result.md``.
4. ``pollGenerate``: loop { give up if more than ``timeoutSec`` (300) passed; GET the
   status; stop at succeeded/failed; sleep ``pollInterval`` (3 s) }. No retries, no
   ``Retry-After``, no use of ``progress``.
5. write the result files, print one JSON line, exit 0 on success.

Node's ``fetch`` keeps connections alive, so one keep-alive connection is used here.
Python's start-up (~20-30 ms without site packages) is close to Node's (~40 ms).
Environment: CREATOK_BASE_URL, CREATOK_API_KEY; argv: prompt, artifacts dir.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
from urllib.parse import urlsplit

CAPABILITIES = "/api/open/skills/capabilities"
SUBMIT = "/api/open/skills/image-generation"
STATUS = "/api/open/skills/tasks/status?task_id={}&task_type=image_generation"
POLL_INTERVAL = 3.0
TIMEOUT = 300.0


class Client:
    def __init__(self, base_url: str, api_key: str) -> None:
        parts = urlsplit(base_url)
        conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else \
            http.client.HTTPConnection
        self.conn = conn_cls(parts.hostname or "", parts.port, timeout=60)
        self.headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}

    def request(self, method: str, path: str, body: dict[str, object] | None = None) -> dict:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = json.loads(response.read())
        if response.status >= 400 or payload.get("code") != 0:
            raise SystemExit(f"HTTP {response.status} calling {path}: {payload}")
        return payload.get("data") or {}

    def image_capabilities(self) -> dict:
        return self.request("GET", CAPABILITIES)["capabilities"]["image"]


def resolve(client: Client) -> dict[str, object]:
    image = client.image_capabilities()
    model = image["default_model"]
    spec = next(m for m in image["models"] if m["id"] == model)
    return {"model": model, "resolution": spec["defaults"]["resolution"],
            "n": spec["defaults"]["n"]}


def write_result(root: str, result: dict[str, object]) -> None:
    outputs = os.path.join(root, "outputs")
    os.makedirs(outputs, exist_ok=True)
    with open(os.path.join(outputs, "result.json"), "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    with open(os.path.join(outputs, "result.md"), "w", encoding="utf-8") as fh:
        fh.write(f"# Image Generate Result\n\n- status: `{result['status']}`\n")


def main(prompt: str, artifacts: str) -> int:
    client = Client(os.environ["CREATOK_BASE_URL"], os.environ["CREATOK_API_KEY"])
    resolve(client)  # resolveCommandArgs (before the confirmation gate)
    request = resolve(client)  # runGenerateImage resolves again
    submit = client.request("POST", SUBMIT, {"prompt": prompt, **request})
    task_id = str(submit["task_id"])
    write_result(artifacts, {"task_id": task_id, "status": submit.get("status", "submitted")})
    started = time.monotonic()
    while True:
        if time.monotonic() - started > TIMEOUT:
            raise SystemExit(f"Timeout waiting for task {task_id}")
        status = client.request("GET", STATUS.format(task_id))
        if status.get("status") in ("succeeded", "failed"):
            break
        time.sleep(POLL_INTERVAL)
    write_result(artifacts, {"task_id": task_id, **status})
    images = (status.get("result") or {}).get("images")
    print(json.dumps({"ok": True, "task_id": task_id, "images": images}))
    return 0 if status.get("status") == "succeeded" and images else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
