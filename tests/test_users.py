"""Console accounts (hotline/accounts/): users, passwords, the sign-in limiter, TV tokens."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from hotline.accounts.tokens import digest
from hotline.accounts.users import (
    ROLES,
    PasswordTooShort,
    User,
    UserError,
    UserStore,
    role_at_least,
)
from hotline.errors import HotlineError

ROSTER = (Path(__file__).parents[1] / "examples" / "roster.yaml").read_text()
PW = "correct horse battery"


@pytest.fixture
def roster(svc):
    svc.roster.import_text(ROSTER, "roster.yaml", by="test")


def events(svc, *types):
    return [e for e in svc.events.read(types=set(types))]


def all_redis_text(rclient) -> str:
    """Every key and value in Redis, as one string: what someone reading the AOF would see."""
    out = []
    for key in rclient.scan_iter("*"):
        kind = rclient.type(key)
        out.append(key)
        if kind == "string":
            out.append(rclient.get(key))
        elif kind == "hash":
            out.extend(f"{k}={v}" for k, v in rclient.hgetall(key).items())
        elif kind == "list":
            out.extend(rclient.lrange(key, 0, -1))
        elif kind == "set":
            out.extend(rclient.smembers(key))
        elif kind == "stream":
            out.extend(str(fields) for _, fields in rclient.xrange(key))
    return "\n".join(out)


# roles ----------------------------------------------------------------------
def test_roles_are_ordered_by_what_they_may_do():
    assert ROLES == ("agent", "supervisor", "manager")
    assert role_at_least("manager", "supervisor") and role_at_least("manager", "manager")
    assert role_at_least("supervisor", "agent") and not role_at_least("supervisor", "manager")
    assert not role_at_least("agent", "supervisor")
    assert not role_at_least("root", "agent")  # an unknown role may do nothing
    with pytest.raises(ValueError):
        role_at_least("manager", "admin")  # a typo in a route's requirement is loud


# creating -------------------------------------------------------------------
def test_create_normalises_the_email_hashes_with_argon2id_and_logs(svc, rclient, roster):
    u = svc.users.create(
        "  Camille.Martin@Example.FR ",
        role="agent",
        password=PW,
        name="Camille Martin",
        agent_id="camille.martin",
        by="cli",
    )
    assert u == User(
        email="camille.martin@example.fr",
        role="agent",
        name="Camille Martin",
        agent_id="camille.martin",
        disabled=False,
        generation=1,
        created_at=svc.clock.now(),
    )
    assert svc.users.get("CAMILLE.martin@example.fr") == u
    stored = rclient.hget(svc.keys.user(u.email), "password_hash")
    assert stored.startswith("$argon2id$") and PW not in stored
    (ev,) = events(svc, "user_created")
    assert (ev.agent_id, ev.fields) == (
        "camille.martin",
        {"email": u.email, "role": "agent", "by": "cli"},
    )
    text = all_redis_text(rclient)
    assert PW not in text and text.count(stored) == 1  # the hash only in the user's hash


def test_supervisors_and_managers_need_no_agent_id(svc):
    svc.users.create("sup@example.fr", role="supervisor", password=PW, by="cli")
    svc.users.create("boss@example.fr", role="manager", password=PW, by="cli")
    assert [e.agent_id for e in events(svc, "user_created")] == [None, None]
    assert [(u.email, u.role, u.agent_id, u.name) for u in svc.users.list()] == [
        ("boss@example.fr", "manager", None, None),
        ("sup@example.fr", "supervisor", None, None),
    ]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"email": "no-at-sign.example.fr"}, "is not an email address"),
        ({"email": "two@at@example.fr"}, "is not an email address"),
        ({"email": "nodot@localhost"}, "is not an email address"),
        ({"email": "sp ace@example.fr"}, "is not an email address"),
        ({"role": "admin"}, "role 'admin' is not one of agent, supervisor, manager"),
        ({"role": "agent", "agent_id": None}, "needs the roster agent id"),
        ({"role": "agent", "agent_id": "zoe.nobody"}, "no agent 'zoe.nobody' in the roster"),
        ({"password": "short"}, "at least 10 are needed"),
    ],
)
def test_refusals_are_clear_and_store_nothing(svc, rclient, roster, kw, message):
    args = {
        "email": "ana@example.fr",
        "role": "agent",
        "password": PW,
        "agent_id": "camille.martin",
        **kw,
    }
    with pytest.raises(UserError, match=message) as info:
        svc.users.create(args.pop("email"), by="cli", **args)
    assert isinstance(info.value, HotlineError)
    assert svc.users.list() == [] and not rclient.keys("*user*")
    assert events(svc, "user_created") == []


def test_short_password_is_its_own_error():
    assert issubclass(PasswordTooShort, UserError)


def test_agent_id_refused_when_no_roster_is_stored(svc):
    with pytest.raises(UserError, match="no roster stored"):
        svc.users.create("a@example.fr", role="agent", password=PW, agent_id="x", by="cli")


def test_duplicate_email_refused_whatever_its_case(svc):
    svc.users.create("sup@example.fr", role="supervisor", password=PW, by="cli")
    with pytest.raises(UserError, match="already exists"):
        svc.users.create("SUP@example.fr", role="manager", password=PW + "x", by="cli")
    assert svc.users.get("sup@example.fr").role == "supervisor"


def test_agent_removed_from_the_roster_meanwhile_is_refused(svc, roster, monkeypatch):
    """The agent id is checked against a roster version; a roster replaced between the check
    and the write is checked again (the Lua script compares the version)."""
    real = svc.roster.load
    swapped = []

    def load_then_replace():
        r = real()
        if not swapped:
            swapped.append(1)
            text = ROSTER.replace("camille.martin", "camille.moved")
            svc.roster.import_text(text, "roster.yaml", by="test")
        return r

    monkeypatch.setattr(svc.roster, "load", load_then_replace)
    with pytest.raises(UserError, match=r"no agent 'camille\.martin'"):
        svc.users.create(
            "c@example.fr", role="agent", password=PW, agent_id="camille.martin", by="cli"
        )
    assert svc.users.get("c@example.fr") is None


def test_concurrent_creates_of_one_email_exactly_one_succeeds(svc, settings, clock, redis_url):
    from hotline.services import Services

    n = 8
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i):
        # one Services per thread, as separate web processes would have
        s = Services(settings, clock=clock)
        try:
            barrier.wait()
            results[i] = s.users.create(
                "race@example.fr", role="manager", password=f"password-{i:04d}", by=f"t{i}"
            )
        except UserError as e:
            results[i] = e
        finally:
            s.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [r for r in results if isinstance(r, User)]
    lost = [r for r in results if isinstance(r, UserError)]
    assert len(won) == 1 and len(lost) == n - 1
    assert all("already exists" in str(e) for e in lost)
    (ev,) = events(svc, "user_created")
    winner = results.index(won[0])
    assert ev.fields["by"] == f"t{winner}"
    assert svc.users.authenticate("race@example.fr", f"password-{winner:04d}") == won[0]


# signing in -----------------------------------------------------------------
class CountingHasher(PasswordHasher):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.verified = 0

    def verify(self, hash, password):
        self.verified += 1
        return super().verify(hash, password)


def test_authenticate(svc):
    svc.users.create("sup@example.fr", role="supervisor", password=PW, by="cli")
    assert svc.users.authenticate(" Sup@Example.fr", PW).email == "sup@example.fr"
    assert svc.users.authenticate("sup@example.fr", PW + "!") is None
    assert svc.users.authenticate("nobody@example.fr", PW) is None
    assert svc.users.authenticate_reason("sup@example.fr", "nope nope nope") == (
        None,
        "wrong_password",
    )
    assert svc.users.authenticate_reason("nobody@example.fr", PW) == (None, "unknown")
    svc.users.disable("sup@example.fr", by="cli")
    assert svc.users.authenticate("sup@example.fr", PW) is None
    assert svc.users.authenticate_reason("sup@example.fr", PW) == (None, "disabled")
    # a wrong password on a disabled account does not say it is disabled
    assert svc.users.authenticate_reason("sup@example.fr", "x")[1] == "wrong_password"


def test_unknown_and_disabled_accounts_cost_the_same_argon2_work(svc):
    store = UserStore(svc, hasher=CountingHasher())
    store.create("sup@example.fr", role="supervisor", password=PW, by="cli")
    for email in ("sup@example.fr", "nobody@example.fr", ""):
        before = store.hasher.verified
        store.authenticate(email, PW)
        assert store.hasher.verified == before + 1, email
    store.disable("sup@example.fr", by="cli")
    before = store.hasher.verified
    assert store.authenticate("sup@example.fr", PW) is None
    assert store.hasher.verified == before + 1


def test_an_old_hash_is_rehashed_with_the_current_parameters_at_sign_in(svc, rclient):
    cheap = UserStore(svc, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    cheap.create("old@example.fr", role="manager", password=PW, by="cli")
    key = svc.keys.user("old@example.fr")
    assert "m=1024,t=1,p=1" in rclient.hget(key, "password_hash")
    u = svc.users.authenticate("old@example.fr", PW)  # the default hasher
    new = rclient.hget(key, "password_hash")
    assert "m=65536,t=3,p=4" in new and not svc.users.hasher.check_needs_rehash(new)
    assert u.generation == svc.users.get("old@example.fr").generation == 1  # same password
    assert svc.users.authenticate("old@example.fr", PW) == u


# disable, reset: generations end sessions --------------------------------------
def test_disable_and_reset_bump_the_generation(svc):
    u = svc.users.create("sup@example.fr", role="supervisor", password=PW, by="cli")
    assert u.generation == 1
    u2 = svc.users.reset_password("SUP@example.fr", "another long password", by="boss@example.fr")
    assert u2.generation == 2
    assert svc.users.authenticate("sup@example.fr", PW) is None
    assert svc.users.authenticate("sup@example.fr", "another long password") == u2
    u3 = svc.users.disable("sup@example.fr", by="boss@example.fr")
    assert (u3.disabled, u3.generation) == (True, 3)
    again = svc.users.disable("sup@example.fr", by="boss@example.fr")
    assert again == u3  # repeated: nothing more changes, one event
    assert [
        (e.type, e.fields["generation"], e.fields["by"])
        for e in events(svc, "password_reset", "user_disabled")
    ] == [("password_reset", "2", "boss@example.fr"), ("user_disabled", "3", "boss@example.fr")]


def test_reset_refusals_change_nothing(svc, rclient):
    svc.users.create("sup@example.fr", role="supervisor", password=PW, by="cli")
    before = rclient.hgetall(svc.keys.user("sup@example.fr"))
    with pytest.raises(PasswordTooShort):
        svc.users.reset_password("sup@example.fr", "2short", by="cli")
    with pytest.raises(UserError, match=r"no user 'ghost@example\.fr'"):
        svc.users.reset_password("ghost@example.fr", PW, by="cli")
    with pytest.raises(UserError, match=r"no user 'ghost@example\.fr'"):
        svc.users.disable("ghost@example.fr", by="cli")
    assert rclient.hgetall(svc.keys.user("sup@example.fr")) == before
    assert not rclient.exists(svc.keys.user("ghost@example.fr"))


# the sign-in limiter ------------------------------------------------------------
def test_five_failures_then_limited_with_retry_after(svc, clock):
    lim = svc.signin_limit
    assert lim.retry_after("ana@example.fr", "10.0.0.1") == 0.0
    for _ in range(4):
        assert lim.failed("ana@example.fr", "10.0.0.1", "wrong_password") == 0.0
        clock.advance(10)
    assert lim.failed("ana@example.fr", "10.0.0.1", "wrong_password") == 900.0 - 40
    assert lim.retry_after("Ana@Example.fr", "10.0.0.1") == 860.0
    clock.advance(60)
    assert lim.retry_after("ana@example.fr", "10.0.0.1") == 800.0
    assert [e.fields["reason"] for e in events(svc, "signin_failed")] == ["wrong_password"] * 5
    (ev,) = events(svc, "signin_limited")
    assert ev.fields == {
        "email": "ana@example.fr",
        "addr": "10.0.0.1",
        "retry_after_s": "860.000",
        "scope": "account",
        "by": "ana@example.fr",
    }


def test_the_window_slides_with_the_clock(svc, clock):
    lim = svc.signin_limit
    for _ in range(5):
        lim.failed("ana@example.fr", "10.0.0.1", "wrong_password")
        clock.advance(100)  # failures at 0, 100, 200, 300, 400
    clock.set(clock.now() - 500 + 899)  # 899 s after the first failure
    assert lim.retry_after("ana@example.fr", "10.0.0.1") == pytest.approx(1.0)
    clock.advance(1)  # the first failure leaves the window: four remain
    assert lim.retry_after("ana@example.fr", "10.0.0.1") == 0.0
    # one more failure makes five in the window again: limited until the second one leaves
    assert lim.failed("ana@example.fr", "10.0.0.1", "wrong_password") == pytest.approx(100.0)
    assert len(events(svc, "signin_limited")) == 2


def test_per_address_across_accounts(svc):
    lim = svc.signin_limit
    for i in range(5):
        lim.failed(f"guess{i}@example.fr", "203.0.113.9", "unknown")
    assert lim.retry_after("guess0@example.fr", "198.51.100.1") == 0.0  # that account: 1 failure
    assert lim.retry_after("someone.else@example.fr", "203.0.113.9") == 900.0  # that address
    (ev,) = events(svc, "signin_limited")
    assert ev.fields["scope"] == "address" and ev.fields["email"] == "guess4@example.fr"


def test_success_clears_the_account_not_the_address(svc):
    lim = svc.signin_limit
    for _ in range(4):
        lim.failed("ana@example.fr", "10.0.0.1", "wrong_password")
    lim.succeeded("ana@example.fr", "10.0.0.1")
    # the account starts again; the address still holds its four
    assert lim.failed("ana@example.fr", "10.0.0.2", "wrong_password") == 0.0
    assert lim.failed("bob@example.fr", "10.0.0.1", "wrong_password") == 900.0


def test_limits_come_from_settings(svc):
    s = svc.derive(svc.settings.with_(signin_max_failures=2, signin_window_s=60.0))
    s.signin_limit.failed("ana@example.fr", "10.0.0.1", "wrong_password")
    assert s.signin_limit.failed("ana@example.fr", "10.0.0.1", "wrong_password") == 60.0


def test_unknown_reason_refused(svc):
    with pytest.raises(ValueError, match="reason 'typo'"):
        svc.signin_limit.failed("ana@example.fr", "10.0.0.1", "typo")
    assert events(svc, "signin_failed") == []


def test_concurrent_failures_from_threads_count_exactly(svc, settings, clock):
    """40 failures at once from 8 threads, each with its own connections (as 8 web processes):
    with a limit of 41 none is lost, so the 41st tips it, once."""
    from hotline.services import Services

    cfg = settings.with_(signin_max_failures=41)
    n_threads, each = 8, 5
    barrier = threading.Barrier(n_threads)
    answers: list[float] = []
    lock = threading.Lock()

    def worker(i):
        s = Services(cfg, clock=clock)
        try:
            barrier.wait()
            got = [
                s.signin_limit.failed("ana@example.fr", f"10.0.0.{i}", "wrong_password")
                for _ in range(each)
            ]
            with lock:
                answers.extend(got)
        finally:
            s.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [0.0] * 40
    assert len(events(svc, "signin_failed")) == 40
    lim = Services(cfg, clock=clock, client=svc.redis).signin_limit
    assert lim.retry_after("ana@example.fr", "10.9.9.9") == 0.0
    assert lim.failed("ana@example.fr", "10.9.9.9", "wrong_password") == 900.0
    assert len(events(svc, "signin_limited")) == 1


# TV tokens ----------------------------------------------------------------------
def test_tv_token_issue_valid_list_revoke(svc, rclient, clock):
    token = svc.tv_tokens.issue("boss@example.fr", label="Salle 2 ")
    assert len(token) == 32 and svc.tv_tokens.valid(token)
    assert not svc.tv_tokens.valid(token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not svc.tv_tokens.valid("") and not svc.tv_tokens.valid(None)
    (row,) = svc.tv_tokens.list()
    assert row == {
        "id": row["id"],
        "label": "Salle 2",
        "created_at": clock.now(),
        "by": "boss@example.fr",
    }
    text = all_redis_text(rclient)
    assert token not in text  # only its SHA-256 is stored
    assert digest(token) in text
    assert svc.tv_tokens.revoke(row["id"], by="boss@example.fr") is True
    assert not svc.tv_tokens.valid(token) and svc.tv_tokens.list() == []
    assert svc.tv_tokens.revoke(row["id"], by="boss@example.fr") is False  # once
    assert [
        (e.type, e.fields["token_id"], e.fields["by"])
        for e in events(svc, "tv_token_issued", "tv_token_revoked")
    ] == [
        ("tv_token_issued", row["id"], "boss@example.fr"),
        ("tv_token_revoked", row["id"], "boss@example.fr"),
    ]


def test_tv_tokens_are_independent(svc, clock):
    a = svc.tv_tokens.issue("boss@example.fr", label="A")
    clock.advance(1)
    b = svc.tv_tokens.issue("boss@example.fr", label="B")
    assert a != b
    ids = [t["id"] for t in svc.tv_tokens.list()]
    assert [t["label"] for t in svc.tv_tokens.list()] == ["A", "B"]
    svc.tv_tokens.revoke(ids[0], by="boss@example.fr")
    assert not svc.tv_tokens.valid(a) and svc.tv_tokens.valid(b)


# settings --------------------------------------------------------------------
def test_signin_settings_from_the_environment(tmp_path):
    from hotline.config import Settings
    from hotline.errors import ConfigError

    env = {"HOTLINE_MODE": "test", "HOTLINE_DATA_DIR": str(tmp_path)}
    s = Settings.from_env(env, load_dotenv=False)
    assert (s.signin_max_failures, s.signin_window_s) == (5, 900.0)
    s = Settings.from_env(
        {**env, "HOTLINE_SIGNIN_MAX_FAILURES": "3", "HOTLINE_SIGNIN_WINDOW_S": "60"},
        load_dotenv=False,
    )
    assert (s.signin_max_failures, s.signin_window_s) == (3, 60.0)
    for name, raw in [
        ("HOTLINE_SIGNIN_MAX_FAILURES", "five"),
        ("HOTLINE_SIGNIN_MAX_FAILURES", "0"),
        ("HOTLINE_SIGNIN_WINDOW_S", "-1"),
    ]:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({**env, name: raw}, load_dotenv=False)
