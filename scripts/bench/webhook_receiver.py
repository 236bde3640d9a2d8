"""A hospital's webhook receiver for scripts/bench/feeds.py: verifies each request with the
``standardwebhooks`` package (the secret from BENCH_WEBHOOK_SECRET), answers 204, counts
each message once per path (``/hook/<n>``: one subscription's).

And a bare JSON answer for the FHIR ceiling: ``GET /bare`` answers the bytes of the file
BENCH_BARE_JSON names, as the engine's Slot search would, touching no store.

    python scripts/bench/webhook_receiver.py PORT
"""

from __future__ import annotations

import os
import sys
import time

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SEEN: set[tuple[str, str]] = set()  # (the subscription's path, webhook-id)
STATS = {"requests": 0, "forged": 0, "first_at": 0.0, "last_at": 0.0}


async def hook(request: web.Request) -> web.Response:
    body = await request.read()
    try:
        Webhook(request.app["secret"]).verify(body, dict(request.headers))
    except WebhookVerificationError:
        STATS["forged"] += 1
        return web.Response(status=401)
    now = time.time()
    STATS["requests"] += 1
    STATS["first_at"] = STATS["first_at"] or now
    STATS["last_at"] = now
    SEEN.add((request.match_info.get("lane", ""), request.headers["webhook-id"]))
    return web.Response(status=204)


async def count(request: web.Request) -> web.Response:
    return web.json_response({**STATS, "unique": len(SEEN)})


async def reset(request: web.Request) -> web.Response:
    SEEN.clear()
    STATS.update(requests=0, forged=0, first_at=0.0, last_at=0.0)
    return web.Response(status=204)


async def bare(request: web.Request) -> web.Response:
    return web.Response(body=request.app["bare"], content_type="application/fhir+json")


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    app = web.Application()
    app["secret"] = os.environ["BENCH_WEBHOOK_SECRET"]
    app.router.add_post("/hook", hook)
    app.router.add_post("/hook/{lane}", hook)  # one path per subscription: one event, N ids
    app.router.add_get("/count", count)
    app.router.add_post("/reset", reset)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/bare", bare)
    bare_path = os.environ.get("BENCH_BARE_JSON")
    app["bare"] = open(bare_path, "rb").read() if bare_path else b"{}"  # noqa: SIM115
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[-1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
