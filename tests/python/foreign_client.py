#!/usr/bin/env python3
"""A heartlink client written only from docs/PROTOCOL.md, in Python.

Proves that a non-Rust client can use the server: register, create and join
a room, chat, page history, reconnect with `resume` and catch up with
`join{since}`. Needs the `websockets` library (pip install websockets).

Usage: foreign_client.py ws://HOST:PORT/ws
Exits 0 and prints "foreign client: ok" on success; fails loudly otherwise.
"""

import asyncio
import json
import secrets
import sys

import websockets

TIMEOUT = 10  # seconds for any single reply


async def recv(ws):
    """The next JSON frame, within TIMEOUT."""
    frame = await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert isinstance(frame, str), f"expected a text frame, got {frame!r}"
    return json.loads(frame)


async def request(ws, message, reply_type):
    """Sends one request and returns the next frame, which must be reply_type."""
    await ws.send(json.dumps(message))
    reply = await recv(ws)
    assert reply["type"] == reply_type, f"{message} -> expected {reply_type}, got {reply}"
    if "ref" in message:
        assert reply.get("ref") == message["ref"], f"reply without the request's ref: {reply}"
    return reply


async def send_message(ws, room_id, client_msg_id, body):
    """`send`: the sender sees its own chat_message, then the ack."""
    await ws.send(json.dumps({"type": "send", "room_id": room_id, "client_msg_id": client_msg_id, "body": body}))
    echo = await recv(ws)
    assert echo["type"] == "chat_message" and echo["body"] == body, echo
    ack = await recv(ws)
    assert ack["type"] == "ack" and ack["client_msg_id"] == client_msg_id, ack
    assert ack["seq"] == echo["seq"] and ack["ts"] == echo["ts"], (ack, echo)
    return ack


async def first_session(url, username, password):
    async with websockets.connect(url) as ws:
        hello = await request(ws, {"type": "register", "username": username, "password": password, "ref": "r1"},
                              "connection_established")
        assert hello["protocol"] == 1, hello
        assert hello["user"]["username"] == username, hello
        assert len(hello["token"]) == 64, hello

        room = (await request(ws, {"type": "create_room", "name": "from python", "ref": "c1"}, "room_created"))["room"]
        assert room["kind"] == "group" and room["name"] == "from python", room
        joined = await request(ws, {"type": "join", "room_id": room["id"]}, "joined")
        assert joined["last_seq"] == 0 and joined["messages"] == [] and joined["has_more"] is False, joined

        acks = [await send_message(ws, room["id"], f"py-{n}", f"hello {n} from python ❤") for n in (1, 2, 3)]
        assert [ack["seq"] for ack in acks] == [1, 2, 3], acks
        retry = await request(ws, {"type": "send", "room_id": room["id"], "client_msg_id": "py-2", "body": "again"},
                              "ack")
        assert retry["seq"] == 2, f"a retried send answers the original ack: {retry}"

        page = await request(ws, {"type": "history", "room_id": room["id"], "limit": 2, "ref": "h1"}, "history")
        assert [m["seq"] for m in page["messages"]] == [2, 3] and page["has_more"] is True, page
        older = await request(ws, {"type": "history", "room_id": room["id"], "before_seq": 2}, "history")
        assert [m["seq"] for m in older["messages"]] == [1] and older["has_more"] is False, older
        assert older["messages"][0]["body"] == "hello 1 from python ❤", older

        error = await request(ws, {"type": "send", "room_id": room["id"], "client_msg_id": "x", "body": "",
                                   "ref": "bad"}, "error")
        assert error["code"] == "bad_request" and error["message"], error
        rooms = await request(ws, {"type": "list_rooms"}, "rooms")
        assert rooms["rooms"] == [{"room": room, "last_seq": 3, "read_seq": 0, "mentions": 0}], rooms
        await request(ws, {"type": "ping", "ref": "p"}, "pong")
        return hello["token"], room


async def second_session(url, token, room):
    async with websockets.connect(url) as ws:
        hello = await request(ws, {"type": "resume", "token": token}, "connection_established")
        assert hello["token"] == token, hello
        joined = await request(ws, {"type": "join", "room_id": room["id"], "since": 1}, "joined")
        assert [m["seq"] for m in joined["messages"]] == [2, 3], joined
        assert joined["last_seq"] == 3 and joined["has_more"] is False, joined
        await send_message(ws, room["id"], "py-4", "back again")
        await ws.send(json.dumps({"type": "logout"}))
        try:
            frame = await asyncio.wait_for(ws.recv(), TIMEOUT)
            raise AssertionError(f"expected the close after logout, got {frame!r}")
        except websockets.exceptions.ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1000, closed


async def main(url):
    username = "py_" + secrets.token_hex(4)
    password = secrets.token_urlsafe(16)
    token, room = await first_session(url, username, password)
    await second_session(url, token, room)
    # The revoked token is refused with the documented error; the connection stays open.
    async with websockets.connect(url) as ws:
        error = await request(ws, {"type": "resume", "token": token}, "error")
        assert error["code"] == "unauthorized", error
        await request(ws, {"type": "login", "username": username, "password": password}, "connection_established")
    print("foreign client: ok")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: foreign_client.py ws://HOST:PORT/ws")
    asyncio.run(main(sys.argv[1]))
