"""kit.inputs and the app factory's input rules, on an app in process (no servers): control characters in the
path, NUL characters in queries and bodies, UUID fields, JSON content types, the OpenAPI error shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import msgspec
import pytest
from litestar import Request, get, post
from litestar.testing import TestClient

from kit import inputs, web
from kit.inputs import Uuid

SOME_ID = "0193a0c4-0000-7000-8000-000000000001"


class Body(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    owner_id: Uuid | None = None
    ids: list[Uuid] = []
    tags: dict[str, str] = {}


@post("/things", sync_to_thread=False)
def create(data: Body) -> dict[str, Any]:
    return msgspec.to_builtins(data)  # type: ignore[no-any-return]


@post("/raw")
async def raw(request: Request[Any, Any, Any]) -> str:
    return (await request.body()).decode()


@post(["/forward", "/forward/{rest:path}"], opt={"forward_raw": True})
async def forward(request: Request[Any, Any, Any]) -> str:
    return (await request.body()).decode()


@get("/things", sync_to_thread=False)
def find(lead_id: UUID | None = None, owner_id: list[str] | None = None, q: str | None = None) -> str:
    inputs.uuids(owner_id or [], "owner_id", allow=("none",))
    return "ok"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    app = web.create_app(service="t", title="T", route_handlers=[create, raw, forward, find], checks={})
    with TestClient(app) as c:
        yield c


def _problem(answer: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(web.PROBLEM_JSON)
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    if field is not None:
        assert field in {e["field"] for e in body["errors"]}, body
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "owner_id": "not-a-uuid"}, "owner_id"),
        ({"name": "x", "owner_id": ""}, "owner_id"),
        ({"name": "x", "ids": [SOME_ID, "1"]}, "ids[1]"),
    ],
)
def test_a_malformed_uuid_field_is_a_422_naming_it(client: TestClient[Any], body: dict[str, Any], field: str) -> None:
    problem = _problem(client.post("/things", json=body), 422, field)
    assert problem["errors"][0]["message"] == "must be a UUID"


def test_a_well_formed_uuid_passes(client: TestClient[Any]) -> None:
    assert client.post("/things", json={"name": "x", "owner_id": SOME_ID.upper()}).status_code == 201


def test_uuid_query_parameters_are_a_422(client: TestClient[Any]) -> None:
    _problem(client.get("/things", params={"lead_id": "x"}), 422, "lead_id")
    _problem(client.get("/things", params={"owner_id": ["none", "x"]}), 422, "owner_id")
    assert client.get("/things", params={"owner_id": ["none", SOME_ID]}).status_code == 200


def test_a_wrong_json_type_stays_a_400(client: TestClient[Any]) -> None:
    _problem(client.post("/things", json={"name": 5}), 400, "name")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "a\x00b"}, "name"),
        ({"name": "x", "tags": {"k": "v\x00"}}, "tags.k"),
        ({"name": "x", "tags": {"k\x00": "v"}}, "tags.k\\u0000"),
    ],
)
def test_nul_in_a_json_body_is_a_422_naming_the_field(
    client: TestClient[Any], body: dict[str, Any], field: str
) -> None:
    _problem(client.post("/things", json=body), 422, field)


def test_nul_in_a_query_or_a_form_body_is_a_422(client: TestClient[Any]) -> None:
    _problem(client.get("/things", params={"q": "ab\x00"}), 422, "q")
    form = {"content-type": "application/x-www-form-urlencoded"}
    _problem(client.post("/raw", content=b"name=Ana&phone=1%002", headers=form), 422, "phone")
    assert client.post("/raw", content=b"name=Ana", headers=form).text == "name=Ana"


def test_a_control_character_in_the_path_is_a_400(client: TestClient[Any]) -> None:
    for path in ("/forward/a%00", "/forward/%0Ab", "/forward/x%7F"):
        _problem(client.post(path, content=b"x"), 400)


def test_raw_forwarders_pass_the_body_on_untouched(client: TestClient[Any]) -> None:
    answer = client.post("/forward", content=b'{"name":"a\\u0000"}', headers={"content-type": "text/plain"})
    assert answer.status_code == 201
    assert answer.text == '{"name":"a\\u0000"}'


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
def test_json_handlers_refuse_other_content_types(client: TestClient[Any], content_type: str) -> None:
    answer = client.post("/things", content=b'{"name":"x"}', headers={"content-type": content_type})
    assert content_type in _problem(answer, 415)["detail"]


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/merge-patch+json"]
)
def test_json_handlers_take_json(client: TestClient[Any], content_type: str) -> None:
    assert client.post("/things", content=b'{"name":"x"}', headers={"content-type": content_type}).status_code == 201


def test_nul_field_in_body() -> None:
    assert inputs.nul_field_in_body("application/json", b'{"a":[{"b":"x\\u0000"}]}') == "a[0].b"
    assert inputs.nul_field_in_body("application/json", b'{"a":"fine"}') is None
    assert inputs.nul_field_in_body("application/json", b"{broken\\u0000") is None  # the handler answers 400
    assert inputs.nul_field_in_body("application/x-www-form-urlencoded", b"x=1&y=%00") == "y"


def test_openapi_describes_the_problem_documents(client: TestClient[Any]) -> None:
    spec = client.get("/schema/openapi.json").json()
    assert set(spec["components"]["schemas"]["Problem"]["required"]) == {"type", "title", "status"}
    responses = spec["paths"]["/things"]["post"]["responses"]
    for code in ("400", "415", "422"):
        (media,) = responses[code]["content"]
        assert media == web.PROBLEM_JSON
        assert responses[code]["content"][media]["schema"] == {"$ref": "#/components/schemas/Problem"}
    every = [r for p in spec["paths"].values() for op in p.values() for c, r in op["responses"].items() if c >= "4"]
    assert every
    assert all("status_code" not in msgspec.json.encode(r).decode() for r in every)
