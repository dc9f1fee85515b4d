"""Checking a request before anyone is asked to pay: local files, capabilities, limits, price.

Capabilities come from the graph's shared cache (``connections.CapabilitiesCache``), so
state carries none and an approval edit is checked against the same answer.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import Command

from . import chat_images, conversation
from ._flow import Blocking, Flow
from .capabilities import ImageCapabilities, ResolvedRequest, resolve_request
from .errors import CreatokError, InvalidRequestError
from .inputs import check_prompt_length
from .intake import run_id_conflict
from .ledger import REFUSED, SUBMITTED, Ledger, approved_params, params_hash
from .node_env import NodeEnv, end, generation, latest_human, step
from .references import inspect_references
from .state import ImageRequest, ImageSettings, State


def load_capabilities(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    """Fetch (or reuse) what CreatOK offers; local files are checked first, before any call."""
    gen = generation(state)
    asked = gen.get("asked") or {}
    refs = list(asked.get("reference_images") or [])
    try:
        check_prompt_length(asked.get("prompt") or "")
        if refs:
            yield Blocking(inspect_references, (refs, env.context.local_files))
        yield Blocking(env.context.prepare_artifacts_dir)
    except InvalidRequestError as exc:
        return end(gen, exc)
    try:
        yield from env.capabilities()
    except CreatokError as exc:
        return end(gen, exc)
    return step(gen, "validate")


def resolve(env: NodeEnv, settings: ImageSettings) -> Flow[ImageRequest]:
    """``settings`` with every default of its model filled in, checked and priced, with
    the files it would send (resolved path, type sniffed from the bytes, size)."""
    caps: ImageCapabilities = yield from env.capabilities()
    refs = list(settings.get("reference_images") or [])
    resolved = resolve_request(
        caps,
        prompt=settings.get("prompt") or "",
        model=settings.get("model"),
        resolution=settings.get("resolution"),
        n=settings.get("n"),
        aspect_ratio=settings.get("aspect_ratio"),
        reference_count=len(refs),
    )
    files = (yield Blocking(inspect_references, (refs, env.context.local_files))) if refs else []
    request: ImageRequest = {
        "kind": "image",
        "prompt": resolved.prompt,
        "model": resolved.model,
        "model_label": resolved.model_label,
        "resolution": resolved.resolution,
        "n": resolved.n,
        "aspect_ratio": resolved.aspect_ratio,
        "reference_images": refs,
        "estimated_credits": resolved.estimated_credits,
    }
    if files:
        request["reference_files"] = [f.describe() for f in files]
    return request


def _settled(state: State, env: NodeEnv, asked: dict[str, Any]) -> Flow[dict[str, Any]]:
    """What the message said, read again now that the models and their limits are known
    (a model named in it, the ratio "portrait" means for that model)."""
    reading = generation(state).get("chat")
    human = latest_human(state)
    if not reading or human is None:
        return {}
    caps: ImageCapabilities = yield from env.capabilities()
    return conversation.settle(reading, chat_images.said(human), caps, asked)


def submit_body(request: ImageRequest, object_keys: list[str] | None = None) -> dict[str, Any]:
    """The submit body with only the contract's fields (``ResolvedRequest.submit_body``)."""
    resolved = ResolvedRequest(
        prompt=request["prompt"], model=request["model"], model_label=request["model_label"],
        resolution=request["resolution"], n=request["n"], aspect_ratio=request["aspect_ratio"],
    )
    return resolved.submit_body(object_keys)


def approved_hash(request: ImageRequest) -> str:
    """What the submission ledger records as "the request approved under this run id"."""
    return params_hash(approved_params(submit_body(request), request.get("reference_images")))


def already_submitted(env: NodeEnv, run_id: str, request: ImageRequest) -> Flow[bool]:
    """Was this very request already submitted under ``run_id``? Raise when ``run_id`` was
    used for a different one (nothing asked yet)."""
    entry = yield from Ledger(env.store, env.artifacts_root).get(run_id)
    if entry is None or entry.state == REFUSED:
        return False
    if entry.params_hash != approved_hash(request):
        raise run_id_conflict(run_id, entry.task_id)
    return entry.state == SUBMITTED and bool(entry.task_id)


def validate(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    gen = generation(state)
    asked = dict(gen.get("asked") or {})
    try:
        asked.update((yield from _settled(state, env, asked)))
        request = yield from resolve(env, asked)  # type: ignore[arg-type]
    except CreatokError as exc:
        return end(gen, exc)
    try:
        done_before = yield from already_submitted(env, gen["run_id"], request)
    except InvalidRequestError as exc:
        return end(gen, exc, no_artifacts=True)
    asked.pop("prompt", None)  # kept once, in the request
    # Submitted before under this run id: asked again, a yes follows that task (``submit``
    # reuses it, nothing is sent), and a no leaves its results alone (``persist``).
    return step(gen, "confirm", asked=asked, request=request, phase="approve",
                submitted_before=done_before)
