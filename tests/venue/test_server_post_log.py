"""The venue's post log (--post-log): every order it receives, logged before it acts.

The crash test reads it to prove no order was ever sent twice, so it must hold every
order that arrived: accepted, rejected, duplicated, unauthenticated or malformed, once
per POST /order and once per leg of POST /orders, with the id the venue computes.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import orjson
import pytest
import trio
from venue_client import Venue, new_client, start_server

from engine.venue.server.options import add_arguments
from engine.venue.server.postlog import PostedOrder, read_post_log
from engine.venue.server.runner import UsageError, server_config

LIMIT_S = 30


@asynccontextmanager
async def logged_venue(nursery: trio.Nursery, path: Path) -> AsyncIterator[Venue]:
    """A quiet venue server writing its post log to `path`, and a client on it."""
    server = await start_server(nursery, post_log=path)
    async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
        yield Venue(server, http)


def ids(posted: list[PostedOrder]) -> list[str | None]:
    return [p.order_id for p in posted]


async def test_accepted_rejected_and_duplicate_posts_each_get_a_line(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    with trio.fail_after(LIMIT_S):
        path = tmp_path / "posts.jsonl"
        async with logged_venue(nursery, path) as venue:
            client = await new_client(venue.http, "post-log")
            assert client.creds is not None
            body = client.order(venue.up, "BUY", "0.40", "10")
            first = await client.call("POST", "/order", body)
            assert first.status_code == 200, first.text
            order_id = first.json()["orderID"]
            again = await client.call("POST", "/order", body)
            assert again.status_code == 400 and "Duplicated" in again.json()["error"]
            off_tick = await client.call(
                "POST", "/order", client.order(venue.up, "BUY", "0.401", "10")
            )
            assert off_tick.status_code == 400

            posted = read_post_log(path)
            assert [p.endpoint for p in posted] == ["POST /order"] * 3
            assert ids(posted)[:2] == [order_id, order_id]
            assert posted[2].order_id is not None and posted[2].order_id != order_id
            assert {p.owner for p in posted} == {client.creds.key}
            assert {p.maker for p in posted} == {client.address}
            assert all(p.leg == 0 for p in posted)


async def test_each_leg_of_a_batch_gets_a_line_with_the_id_the_venue_answers(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    with trio.fail_after(LIMIT_S):
        path = tmp_path / "posts.jsonl"
        async with logged_venue(nursery, path) as venue:
            client = await new_client(venue.http, "post-log-batch")
            legs = [
                client.order(venue.up, "BUY", "0.40", "10"),
                client.order(venue.up, "BUY", "0.401", "10"),
                client.order(venue.down, "BUY", "0.30", "10"),
            ]
            replies = (await client.call("POST", "/orders", legs)).json()
            assert [r["success"] for r in replies] == [True, False, True]

            posted = read_post_log(path)
            assert [(p.endpoint, p.leg) for p in posted] == [("POST /orders", i) for i in range(3)]
            assert posted[0].order_id == replies[0]["orderID"]
            assert posted[2].order_id == replies[2]["orderID"]
            assert posted[1].order_id is not None  # refused, yet hashed and logged


async def test_orders_refused_before_matching_are_still_logged(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    """Bad credentials, a malformed body and an unknown token: the venue received an
    order each time, so each is logged (malformed ones without an id)."""
    with trio.fail_after(LIMIT_S):
        path = tmp_path / "posts.jsonl"
        async with logged_venue(nursery, path) as venue:
            client = await new_client(venue.http, "post-log-refused")
            body = client.order(venue.up, "BUY", "0.40", "10")
            raw = orjson.dumps(body)
            headers = {**client.l2_headers("POST", "/order", raw), "POLY_PASSPHRASE": "0" * 64}
            unauthorized = await venue.http.post("/order", content=raw, headers=headers)
            assert unauthorized.status_code == 401
            malformed = await client.call("POST", "/order", {"order": "nonsense", "owner": 7})
            assert malformed.status_code == 400
            unknown = await client.call("POST", "/order", client.order("123", "BUY", "0.40", "10"))
            assert unknown.status_code == 400

            posted = read_post_log(path)
            assert len(posted) == 3
            assert posted[0].order_id is not None  # logged before the 401
            assert posted[1].order_id is None and posted[1].owner is None
            assert posted[2].order_id is None  # no market: the venue cannot hash it
            assert posted[2].maker == client.address
            # Nothing was placed: the 401'd order is absent from the venue's books.
            orders = (await client.call("GET", "/data/orders")).json()["data"]
            assert orders == []


async def test_a_restarted_venue_appends_to_the_same_log(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    with trio.fail_after(LIMIT_S):
        path = tmp_path / "posts.jsonl"
        async with trio.open_nursery() as first_run:
            async with logged_venue(first_run, path) as venue:
                client = await new_client(venue.http, "post-log-restart")
                assert (await client.place(venue.up, "BUY", "0.40", "10")).status_code == 200
            first_run.cancel_scope.cancel()
        async with logged_venue(nursery, path) as venue:
            client = await new_client(venue.http, "post-log-restart")
            assert (await client.place(venue.down, "BUY", "0.30", "10")).status_code == 200
            assert len(read_post_log(path)) == 2


def test_the_cli_option_sets_the_path_and_checks_its_directory(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert server_config(parser.parse_args([])).post_log is None
    path = tmp_path / "posts.jsonl"
    assert server_config(parser.parse_args(["--post-log", str(path)])).post_log == path
    with pytest.raises(UsageError, match="--post-log"):
        server_config(parser.parse_args(["--post-log", str(tmp_path / "missing" / "p.jsonl")]))


def test_a_line_that_is_not_a_post_names_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text('{"endpoint": "POST /order"}\n')
    with pytest.raises(ValueError, match=r"posts.jsonl:1"):
        read_post_log(path)
