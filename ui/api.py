"""The chat's JSON route for `rag ask` (protocol in rag/wire.py): GET /newsrag/info tells what answers here,
POST /newsrag/ask streams one answer's events as NDJSON. Both sit behind the chat's login when one is set.

They bypass Gradio's queue; the in-process model's lock (rag/models/llm.py) still lets one answer generate at a time.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel
from starlette.routing import BaseRoute

from rag.settings import Settings
from rag.wire import ASK_PATH, INFO_PATH, error_line, event_line, server_info
from rag.wiring import AnswerSource
from ui.errors import KNOWN_ERRORS, error_text

log = logging.getLogger("newsrag.api")
_basic = HTTPBasic(auto_error=False)  # no login configured: no credentials needed


class AskRequest(BaseModel):
    question: str
    history: list[dict[str, str]] | None = None
    fingerprint: str  # the client's settings; it must answer like this server


def api_routes(settings: Settings, service: AnswerSource) -> list[BaseRoute]:
    """The routes, answering with `service` (whose settings are `settings`)."""
    info = server_info(settings)

    def login(credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)]) -> None:
        if settings.auth_user and settings.auth_password and not _logged_in(credentials, settings):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "login required", {"WWW-Authenticate": "Basic"})

    router = APIRouter(dependencies=[Depends(login)])

    @router.get(INFO_PATH)
    def get_info() -> dict[str, Any]:
        return info

    @router.post(ASK_PATH)
    def ask(request: AskRequest) -> StreamingResponse:
        if request.fingerprint != info["fingerprint"]:  # the server restarted with other settings since the probe
            raise HTTPException(status.HTTP_409_CONFLICT, "this chat answers with other settings")
        return StreamingResponse(_lines(service, request), media_type="application/x-ndjson")

    return list(router.routes)


def _logged_in(credentials: HTTPBasicCredentials | None, settings: Settings) -> bool:
    if credentials is None or settings.auth_user is None or settings.auth_password is None:
        return False
    # Both compared, in constant time: the answer does not tell which one was wrong.
    user = secrets.compare_digest(credentials.username.encode(), settings.auth_user.encode())
    password = secrets.compare_digest(credentials.password.encode(), settings.auth_password.get_secret_value().encode())
    return user and password


def _lines(service: AnswerSource, request: AskRequest) -> Iterator[str]:
    try:
        for event in service.stream(request.question, request.history):
            yield event_line(event)
    except Exception as exc:  # the status line is sent: the failure travels as the stream's last line
        if not isinstance(exc, KNOWN_ERRORS):
            log.exception("answering for rag ask failed")
        yield error_line(error_text(exc))
