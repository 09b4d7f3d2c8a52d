"""`/schema`: the API reference as a plain HTML page, rendered here, needing no network.

Litestar's interactive renderers (Swagger UI, Redoc, Scalar, ...) load their JavaScript
from a CDN, so offline (this project's default set-up) they render nothing. This page is
built from the same OpenAPI document on the server: every operation with its parameters,
body and responses, and the schemas as JSON. The document itself is at
`/schema/openapi.json`, for tools and for any renderer a team wants to host.
"""

from __future__ import annotations

from html import escape
from typing import Any

import msgspec
from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

__all__ = ("SchemaPage",)

_METHODS = ("get", "post", "put", "patch", "delete")
_STYLE = """<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1f2328; background: #fff; }
@media (prefers-color-scheme: dark) { body { color: #e6edf3; background: #0d1117; } }
code, pre { font: 13px ui-monospace, monospace; }
pre { overflow-x: auto; padding: .75rem; border: 1px solid #8884; border-radius: 6px; }
h2 { border-bottom: 1px solid #8884; margin-top: 2.5rem; }
.method { text-transform: uppercase; font-weight: 700; margin-right: .5rem; }
td, th { text-align: left; padding: .2rem .8rem .2rem 0; vertical-align: top; }
</style>"""


def _json(value: Any) -> str:
    return escape(msgspec.json.format(msgspec.json.encode(value), indent=2).decode())


def _parameters(operation: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(p.get('name', ''))}</code></td><td>{escape(p.get('in', ''))}"
        f"</td><td>{'required' if p.get('required') else ''}</td>"
        f"<td>{escape(p.get('description', ''))}</td></tr>"
        for p in operation.get("parameters", [])
    )
    return f"<table><tr><th>parameter</th><th>in</th><th></th><th></th></tr>{rows}</table>"


def _operation(path: str, method: str, operation: dict[str, Any]) -> str:
    parts = [
        f"<h3><span class='method'>{method}</span><code>{escape(path)}</code></h3>",
        f"<p>{escape(operation.get('summary', ''))}</p>",
        f"<p>{escape(operation.get('description', ''))}</p>",
    ]
    if operation.get("parameters"):
        parts.append(_parameters(operation))
    if body := operation.get("requestBody"):
        parts.append(f"<p>Request body:</p><pre>{_json(body.get('content', {}))}</pre>")
    responses = operation.get("responses", {})
    listed = ", ".join(
        f"<code>{escape(str(code))}</code> {escape(r.get('description', ''))}"
        for code, r in responses.items()
    )
    parts.append(f"<p>Responses: {listed}</p>")
    return "\n".join(parts)


def render_page(document: dict[str, Any]) -> str:
    """The OpenAPI `document` as a self-contained HTML page."""
    info = document.get("info", {})
    title = escape(f"{info.get('title', 'API')} {info.get('version', '')}")
    operations = [
        _operation(path, method, item[method])
        for path, item in document.get("paths", {}).items()
        for method in _METHODS
        if method in item
    ]
    schemas = document.get("components", {}).get("schemas", {})
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>{_STYLE}</head>"
        f"<body><h1>{title}</h1><p>The OpenAPI document: "
        "<a href='openapi.json'><code>openapi.json</code></a>. The WebSocket protocol is "
        "described in <code>docs/websocket-protocol.md</code>.</p><h2>Operations</h2>"
        + "\n".join(operations)
        + f"<h2>Schemas</h2><pre>{_json(schemas)}</pre></body></html>"
    )


class SchemaPage(OpenAPIRenderPlugin):
    """Serves `render_page` of the app's OpenAPI document at the schema path's root."""

    def __init__(self) -> None:
        super().__init__(path="/", favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:  # noqa: ARG002 - the signature is the plugin API
        """Render the page for `openapi_schema`."""
        return render_page(openapi_schema).encode()
