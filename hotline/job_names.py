"""The name of every RQ job, in one place, and the retry policy of the jobs that call the carrier.

Jobs are enqueued by dotted path (RQ imports `hotline.jobs` in the worker), so the
domain never imports the jobs module itself; it names the job with a constant from here.
tests/test_job_names.py checks that each names a function of hotline.jobs.
"""

from __future__ import annotations

from rq import Retry

CALL_WAITING = "hotline.jobs.call_waiting"
AGENT_AVAILABLE = "hotline.jobs.agent_available"
OVERFLOW_DUE = "hotline.jobs.overflow_due"
RESERVATION_DUE = "hotline.jobs.reservation_due"
SHIFT_BOUNDARY = "hotline.jobs.shift_boundary"
SWEEP = "hotline.jobs.sweep"
RECONCILE = "hotline.jobs.reconcile"
OFFER = "hotline.jobs.offer"
BRIDGE = "hotline.jobs.bridge"
AGENT_NOTICE = "hotline.jobs.agent_notice"
REMATCH = "hotline.jobs.rematch"
WRAPUP_DONE = "hotline.jobs.wrapup_done"
CALLBACK_DIAL = "hotline.jobs.callback_dial"
CALLBACK_CANCEL = "hotline.jobs.callback_cancel"
CALLBACK_RETRY = "hotline.jobs.callback_retry"
CALLER_ENDED = "hotline.jobs.caller_ended"
ARCHIVE = "hotline.jobs.archive"
ARCHIVE_MORE = "hotline.jobs.archive_more"

ALL = (
    CALL_WAITING,
    AGENT_AVAILABLE,
    OVERFLOW_DUE,
    RESERVATION_DUE,
    SHIFT_BOUNDARY,
    SWEEP,
    RECONCILE,
    OFFER,
    BRIDGE,
    AGENT_NOTICE,
    REMATCH,
    WRAPUP_DONE,
    CALLBACK_DIAL,
    CALLBACK_CANCEL,
    CALLBACK_RETRY,
    CALLER_ENDED,
    ARCHIVE,
    ARCHIVE_MORE,
)

# Transient carrier errors: three more tries within ~17 s. On the last attempt the job
# handles the error itself (an offer released, a callback attempt counted...).
RETRY_INTERVALS_S = (2, 5, 10)


def carrier_retry() -> Retry:
    return Retry(max=len(RETRY_INTERVALS_S), interval=list(RETRY_INTERVALS_S))
