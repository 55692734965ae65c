"""What a caller hears when we cannot do better: never silence, never a 500.

Used when Redis is unreachable or a handler fails unexpectedly: an apology, then
the configured fallback number (HOTLINE_FALLBACK_NUMBER) if there is one, else
a request to call back later.
"""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from ..config import Settings
from ..languages import spoken

APOLOGY = {
    "fr": "Nous sommes désolés, notre service rencontre un problème technique.",
    "en": "We are sorry, our service is having a technical problem.",
}
TRANSFER = {
    "fr": "Nous vous transférons vers un technicien.",
    "en": "We are transferring you to a technician.",
}
CALL_BACK = {
    "fr": "Merci de rappeler dans quelques minutes. Au revoir.",
    "en": "Please call again in a few minutes. Goodbye.",
}
VOICE_LANG = {"fr": "fr-FR", "en": "en-US"}


def fallback_twiml(settings: Settings, lang: str | None = None) -> str:
    lang = spoken(lang or settings.default_language)
    voice_lang = VOICE_LANG[lang]
    r = VoiceResponse()
    r.say(APOLOGY[lang], language=voice_lang)
    if settings.fallback_number:
        r.say(TRANSFER[lang], language=voice_lang)
        r.dial(settings.fallback_number, timeout=30)
    else:
        r.say(CALL_BACK[lang], language=voice_lang)
        r.hangup()
    return str(r)
