"""POST /api/jobs/{id}/callback (also POST /jobs/{id}/callback, the same handler): the AWS Lambda
reports progress and results of one job attempt.

The request must carry `X-MPR-Timestamp`, `X-MPR-Nonce` and `X-MPR-Signature` = hex HMAC-SHA256
under the job's key over both and the raw body (`backend.signing`); a bad or missing signature,
or a timestamp more than `MPR_CALLBACK_TOLERANCE` seconds off, is 401 and changes nothing. A
nonce that is not the one of the job's current dispatched attempt (a callback captured from an
earlier attempt, or from an earlier job with the same id) is 409 with `stop`: nothing changes and
a Lambda still running that attempt stops. A signed report goes to
`backend.jobs.callbacks.apply_callback`, which ignores duplicates, late and stale-attempt reports
(200 with changed=false and the reason). Every answer is a `backend.jobs.callbacks.CallbackReply`
({"accepted", "stop", "reason", "job_status"}, plus the earlier "changed"/"message").
"""
from __future__ import annotations

import json
import logging

from litestar import Request, Response, post
from litestar.params import FromPath

from backend import signing
from backend.api.http.counters import CALLBACK_FAILURES
from backend.jobs.callbacks import CallbackReply, StaleExecution, apply_callback
from backend.jobs.errors import DomainError

log = logging.getLogger("mpr.api.callback")

MAX_CALLBACK_BODY = 1 << 20


def _answer(status: int, reply: CallbackReply) -> Response:
    if status >= 400:
        CALLBACK_FAILURES.inc(str(status))  # mpr_callback_failures_total{code} in /metrics
    return Response(reply.to_dict(), status_code=status)


CALLBACK_PATHS = ["/api/jobs/{job_id:int}/callback", "/jobs/{job_id:int}/callback"]


@post(CALLBACK_PATHS, request_max_body_size=MAX_CALLBACK_BODY, status_code=200,
      include_in_schema=False)
async def job_callback(request: Request, job_id: FromPath[int]) -> Response:
    body = await request.body()
    settings = request.app.state.settings
    verdict = signing.check(settings.callback_secret, job_id, body, request.headers,
                            tolerance=settings.callback_tolerance)
    if verdict != signing.OK:
        log.warning("callback for job %s refused: %s", job_id, verdict)
        return _answer(401, CallbackReply.refused(verdict))
    try:
        payload = json.loads(body)
    except ValueError:
        return _answer(400, CallbackReply.refused("body is not JSON"))
    try:
        reply = await apply_callback(job_id, payload, request.app.state.storages, request.app.state.settings,
                                     nonce=request.headers.get(signing.NONCE_HEADER, ""))
    except StaleExecution as exc:
        log.warning("callback for job %s refused: %s", job_id, exc.message)
        return _answer(409, CallbackReply(False, True, exc.message, exc.job_status))
    except DomainError as exc:
        status = 404 if exc.code == "NOT_FOUND" else 400
        return _answer(status, CallbackReply.refused(exc.message))
    return _answer(200, reply)
