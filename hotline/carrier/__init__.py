"""The carrier simulator: a small, honest stand-in for Twilio, for demos, tests and development.

It places calls to the app over real HTTP with Twilio's parameters and a valid
X-Twilio-Signature, executes the TwiML the app returns, follows every URL the
way Twilio does and posts the status callback at the end. Modules:

* `twiml_exec` — one call's `CallSession`: answer or ring, follow the TwiML
  documents, finish and report; the verb table. Its parts: `twiml_session` (the
  call's state, REST controls, signed requests, verb dispatch, waits),
  `twiml_voice` (Say, Play, Pause, Gather, Redirect, Hangup), `twiml_queue`
  (Enqueue + waitUrl loop + action, Leave), `twiml_record` (Record +
  transcription), `twiml_dial` (Dial: Conference, Number/Client child legs and
  their private rooms), `twiml_attrs` (attributes read as Twilio reads them);
* `call_data` — CallSpec, CallResult, Fetch, TwimlError; `queues` — the
  carrier's queues (FIFO per name, QueueSid, average wait);
* `party` — the simulated caller's script (keys, speech, patience, message);
* `timing` — every duration and how simulated time passes (virtual or real);
* `signing` — signed webhook requests; a non-2xx answer fails loudly;
* `transcript` — what the caller heard, line by line;
* `simulator` — the Carrier: credentials, entry URLs, queues, conferences, the
  phone network, calls placed (inbound test calls and outbound calls);
* `server` — the simulator's own REST subset (Calls create/update/list, Queue
  Members update, Conferences), on its own port, under Basic auth;
* `conference` — conference rooms (start/end on enter/exit), and the private
  two-party rooms that bridge a <Dial><Number>/<Client>;
* `phones` — the network behind the carrier: simulated agents (answer delay,
  missed/declined offers, talk time) and customers (answer or not);
* `loopback` — a WSGI app on an ephemeral loopback port, in a thread;
* `local` — the offline hotline in one process (app + Redis + RQ jobs at their
  simulated due time + simulator REST);
* `day` (+ `morning_peak.yaml`) — a simulated morning: roster, agents logging in,
  generated callers; `live` — the demo's rich wallboard.

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
* An inbound call's status callback reports only `completed` (what a Twilio
  number's status callback sends), with SequenceNumber 0. Outbound calls report
  the events asked for (initiated, ringing, answered, completed) with
  SequenceNumber 0, 1, 2…; CallStatus=initiated for `initiated`, in-progress for
  `answered`; no SipResponseCode, AnsweredBy, price or Duration fields.
* `POST …/Calls.json` to the hotline's own number (or with Sim* parameters)
  places an *inbound* test call to the app, the simulator playing the caller;
  to any other number or `client:` it places an outbound call, as Twilio does.
  Inline `Twiml` is refused (give a Url); `Timeout` is clamped to 5..600 s.
* The phone network is simulated (phones.py): unknown `client:` identities ring
  out (no-answer), unknown E.164 numbers are answered by a default customer
  after 5 s, anything else is refused at REST time (400) rather than failing
  the call later.
* Calls update: `Status=canceled` ends a call only while it is queued or
  ringing (an answered call is left alone), `Status=completed` ends it in any
  state (reported `canceled` if it was never answered), as Twilio documents; a
  redirect of a ringing call changes the TwiML fetched on answer; updating a
  call that has ended is 400 / 21220, an unknown call 404.
* <Dial> rings only its first noun (Twilio rings them all at once, first to
  answer wins); <Dial><Queue> and <Sip> are refused. The callee of a
  <Number>/<Client> runs the noun's `url` (whisper), then both are bridged in a
  private two-party room. Conferences: no hold music, beep, mute, coach or
  recording; a participant alone in a room re-checks it every 60 s (virtual
  time: a cheap wake). `waitUrl` of <Conference> is not requested.
* Conference status callbacks (statusCallback on <Conference>) are not sent.
* Queue Members update takes the exact CallSid (or `Front`), and the Enqueue
  `action` is then requested with QueueResult=redirected, its answer ignored.
* Time scale: with `LocalHotline`, every delayed job the app schedules (timers.py,
  and RQ's own retries) fires at its *simulated* due time (see local.py:
  SimulatedClock); against separate processes, a ScaledClock shared through
  HOTLINE_CLOCK makes a simulated hour last minutes and the workers' timer pumps
  keep pace.
"""
