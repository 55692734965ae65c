"""Twilio signature checks for every /webhooks/* request.

Twilio signs the URL it requested (scheme, host, path, query) plus the sorted
POST parameters. Behind a reverse proxy or a tunnel, the URL Flask sees is not
that URL (http vs https, an internal host, a stripped path prefix), so we
rebuild it from HOTLINE_PUBLIC_URL + the path under the app's root + the query
string, exactly as the TwiML we returned spelled it. There is no setting to
turn the check off.
"""

from __future__ import annotations

from flask import Request
from twilio.request_validator import RequestValidator

from ..config import Settings


def signed_url(settings: Settings, request: Request) -> str:
    url = settings.public_url.rstrip("/") + request.path
    query = request.query_string.decode("latin-1")
    return url + ("?" + query if query else "")


def is_valid(settings: Settings, request: Request) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    validator = RequestValidator(settings.twilio_auth_token)
    # The form MultiDict as is: the validator signs every value of a repeated key.
    params = request.form if request.mimetype == "application/x-www-form-urlencoded" else {}
    return validator.validate(signed_url(settings, request), params, signature)
