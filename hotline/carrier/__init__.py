"""The carrier simulator: a small, honest stand-in for Twilio, for demos, tests and development.

It places calls to the app over real HTTP with Twilio's parameters and a valid
X-Twilio-Signature, executes the TwiML the app returns, follows every URL the
way Twilio does and posts the status callback at the end. Modules:

* `twiml_exec` — one call: TwiML parsing and the verbs (Say, Play, Pause,
  Gather, Redirect, Enqueue + waitUrl loop + action, Leave, Hangup, Record, Dial);
* `party` — the simulated caller's script (keys, speech, patience, message);
* `timing` — every duration and how simulated time passes (virtual or real);
* `signing` — signed webhook requests; a non-2xx answer fails loudly;
* `transcript` — what the caller heard, line by line;
* `simulator` — the Carrier: credentials, entry URLs, queues, calls placed;
* `server` — the simulator's own REST subset (Calls.json), on its own port;
* `loopback` — a WSGI app on an ephemeral loopback port, in a thread;
* `local` — the offline hotline in one process (app + Redis + simulator).

Where the simulator deliberately differs from Twilio
----------------------------------------------------
* Time: with a ManualClock shared with the app, nothing really waits; Say
  lasts len(text)/14 s, a key 0.3 s, a <Play> 30 s (audio is never fetched).
  Against a remote app (`--url`) time is real (or scaled via HOTLINE_CLOCK).
* No barge-in: the caller always hears a Gather's whole prompt before answering.
* A Gather answer with more keys than numDigits is cut at numDigits; the extra
  keys are not kept for the next Gather.
* A webhook answering non-2xx, or anything that is not TwiML, stops the call
  with an error (WebhookFailed / TwimlError) instead of Twilio's "an application
  error has occurred"; no status callback follows. 100 requests in a row with
  no simulated time passing (Redirect to itself, an empty wait document) are
  treated as a TwiML loop and stop the call the same way.
* Queues are the simulator's own FIFO per name (QueueSid, QueuePosition,
  AvgQueueTime = mean wait of the calls now in that queue); MaxQueueSize is 1000
  and never enforced.
* Record: no audio; the party's Message gives the duration, the finishing key
  and the transcription text. RecordingUrl points at the simulator
  (`http://carrier-simulator.invalid/...` when no simulator server runs) and
  serves nothing yet. The transcribeCallback is posted right after the status
  callback, not minutes later.
* Dial (part 1): there is no phone network; the dialled party never answers
  (DialCallStatus=no-answer after the Dial timeout).
* The status callback reports only `completed` (what a Twilio number's status
  callback sends for an inbound call), with SequenceNumber 0.
* `POST …/Calls.json` places an *inbound* test call to the app (Twilio's places
  an outbound call); Sim* form parameters script the caller.
"""
