"""Agent call legs: from a reservation to the end of the conversation.

    matcher reserves agent (Lua) ──> RQ job `offer` ──Calls create──> agent's phone rings
        │                                                   │ answer: /webhooks/agent/answer
        │                                whisper + <Gather numDigits=1>  (offers.py)
        │         1: reservations.accept (Lua) ──> agent <Dial><Conference name=caller CallSid>
        │                                         RQ job `bridge` ──Queue Members update──>
        │                                         caller's Url /join ──> same conference
        │   other key / silence / no-answer / busy / failed / hung up: missed (call back at
        │   its place, agent away/missed); caller gone meanwhile: "the caller hung up"
        └── end (agent <Dial action> or agent leg `completed`): durations, final event,
            wrap-up (wrapup.py) ──timer/sweep──> available ──> routing again

Modules: offers.py (ring, whisper, accept, missed), conversation.py (bridge, join,
end, repair), wrapup.py, twiml.py (pure TwiML), links.py (our URLs), common.py (leg
records, retry policy). Callback legs (agent first, then the customer) live in
legs/callbacks.py and reuse all of this.
"""
