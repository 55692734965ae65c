"""Placeholder blueprint, replaced by the IVR work."""
from flask import Blueprint

bp = Blueprint("voice", __name__, url_prefix="/webhooks/voice")
