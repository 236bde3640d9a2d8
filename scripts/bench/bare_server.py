"""The bare-HTTP ceiling: an aiohttp endpoint that parses a booking request and
answers a booking-sized JSON body, touching no database. Run by booking.py."""

from __future__ import annotations

import argparse
import json

from aiohttp import web

ANSWER = {
    "booking_no": "123456789",
    "status": "confirmed",
    "hospital": "H001",
    "department": {"code": "101", "name": "心内科"},
    "doctor": {"work_no": "00868", "name": "张建国", "title": "主任医师"},
    "day": "2026-07-15",
    "start": "08:30",
    "end": "08:45",
    "room": "0801诊室",
    "fee": 5000,
    "paid": 0,
    "queue_no": None,
    "patient": {"id": 1, "name": "张三", "card_no": "9774882060"},
}


async def book(request: web.Request) -> web.Response:
    body = await request.json()
    if not isinstance(body, dict) or "slot_id" not in body:
        raise web.HTTPBadRequest()
    return web.json_response(
        ANSWER | {"patient": {"id": body["patient_id"]}}, status=201, dumps=json.dumps
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    app = web.Application()
    app.router.add_post("/api/v1/bookings", book)
    app.router.add_get("/healthz", lambda r: web.json_response({"status": "ok"}))
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
