"""Typed client errors: every bad input becomes a 4xx with a reason code and a message."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ClientError(Exception):
    """A request we refuse: HTTP status, reason code, message, optional extra fields."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None,
                 **extra: object) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers, self.extra = headers or {}, extra


def not_found(what: str) -> ClientError:
    return ClientError(404, "NotFound", f"{what} not found")


def install(app: FastAPI) -> None:
    """Answer ClientError, validation errors and HTTP errors as {"error", "message"} JSON."""

    @app.exception_handler(ClientError)
    async def client_error(_: Request, error: ClientError) -> JSONResponse:
        return JSONResponse({"error": error.code, "message": error.message, **error.extra},
                            status_code=error.status, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                    for e in error.errors()]
        return JSONResponse({"error": "InvalidRequest", "message": "; ".join(problems)},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": "HttpError", "message": str(error.detail)},
                            status_code=error.status_code, headers=getattr(error, "headers", None))
