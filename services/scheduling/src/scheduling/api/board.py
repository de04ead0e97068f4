"""The waiting-room board of a branch, and the same board live as server-sent events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

import msgspec
from litestar import Controller, get
from litestar.datastructures import State
from litestar.response import ServerSentEvent, ServerSentEventMessage

from kit.web import AuthRequest, requires
from scheduling.domain.appointments import waiting_minutes
from scheduling.schemas import Board, BoardItem
from scheduling.services import reception
from scheduling.services.env import Env
from scheduling.services.live import BoardHub
from scheduling.services.reception import READ


class BoardController(Controller):
    path = "/api/v1/scheduling"
    tags = ["scheduling: agenda and reception"]

    @get("/waiting-room", guards=[requires(READ)], summary="Today's board of a branch: waiting, in service, done")
    async def waiting_room(self, request: AuthRequest, env: Env, branch_id: UUID) -> Board:
        return await board_of(env, request.user.tenant_id, str(branch_id))

    @get(
        "/waiting-room/stream",
        guards=[requires(READ)],
        summary="The board as server-sent events: `board` at once and after every change",
    )
    async def stream(self, request: AuthRequest, env: Env, state: State, branch_id: UUID) -> ServerSentEvent:
        tenant_id = request.user.tenant_id
        first = await board_of(env, tenant_id, str(branch_id))  # 404 for a branch of another clinic
        return ServerSentEvent(board_events(env, state.board_hub, tenant_id, str(branch_id), first))


async def board_of(env: Env, tenant_id: str, branch_id: str) -> Board:
    today, rows = await reception.board(env, tenant_id, branch_id)
    now = env.clock.now()
    columns: dict[str, list[BoardItem]] = {"arrived": [], "in_service": [], "done": []}
    for r in rows:
        a = r.appointment
        assert a.arrived_at is not None
        column = {"arrived": "arrived", "in_service": "in_service", "done": "done"}.get(a.status)
        if column is None:
            continue
        columns[column].append(
            BoardItem(
                appointment_id=a.id,
                patient_name=a.person.name,
                professional_name=r.professional.name,
                procedure_name=r.procedure.name,
                starts_at=a.starts_at,
                arrived_at=a.arrived_at,
                started_at=a.started_at,
                completed_at=a.completed_at,
                waiting_minutes=waiting_minutes(a.arrived_at, a.started_at, now),
            )
        )
    return Board(
        branch_id=branch_id,
        date=today,
        waiting=columns["arrived"],
        in_service=columns["in_service"],
        done=columns["done"],
    )


async def board_events(
    env: Env, hub: BoardHub, tenant_id: str, branch_id: str, first: Board
) -> AsyncIterator[ServerSentEventMessage]:
    key = f"{tenant_id}:{branch_id}"
    changed = await hub.subscribe(key)
    try:
        yield ServerSentEventMessage(data=msgspec.json.encode(first).decode(), event="board")
        while True:
            try:
                woke = await asyncio.wait_for(changed.get(), timeout=15.0)
            except TimeoutError:
                yield ServerSentEventMessage(comment="keep-alive")
                continue
            if woke == BoardHub.CLOSED:
                return
            while not changed.empty():
                if changed.get_nowait() == BoardHub.CLOSED:
                    return
            board = await board_of(env, tenant_id, branch_id)
            yield ServerSentEventMessage(data=msgspec.json.encode(board).decode(), event="board")
    finally:
        hub.unsubscribe(key, changed)
