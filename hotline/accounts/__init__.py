"""Accounts of the web console: users and their passwords, the sign-in limiter, TV tokens.

* `users.py` -- who may sign in, with which role, linked to which roster agent; Argon2id
  password hashes; the `generation` that ends a user's sessions when bumped.
* `signin_limit.py` -- failed sign-ins counted in Redis per account and per client
  address, so the limit holds across every web process.
* `tokens.py` -- revocable wallboard tokens for a screen that has no session.

Nothing here knows Flask: the console (hotline/console/) translates HTTP to these calls.
"""
