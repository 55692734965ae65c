"""A drill's figures for people: text tables, and the PNG of the day (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path


def _pct(v) -> str:
    return "    -" if v is None else f"{100 * v:5.1f}"


def _num(v, fmt="{:6.1f}") -> str:
    return "     -" if v is None else fmt.format(v)


def _ci(m: dict, key: str, scale: float = 100.0) -> str:
    ci = m.get(key + "_ci95")
    return "" if not ci else f" [{scale * ci[0]:.1f}–{scale * ci[1]:.1f}]"


def text(out: dict) -> str:
    sc = out["scenario"]
    lines = [
        f"{sc['name']}: {sc['hours']:g} h from {sc['start']}, {out['replications']} replication(s), "
        f"seed {out['seed']}, service level = answered within {sc['target_s']:g} s",
        f"{out['calls_simulated']} calls simulated ({out['deflected']} deflected by an "
        f"announcement, {out['unfinished']} unfinished) in {out['wall_s']:.1f} s: "
        f"{out['calls_per_wall_s']} calls per second",
        "",
        "total and per skill     offered   SL %  [95 %]          ASA s  abandon %  queue  occupancy %",
    ]
    rows = [("total", out["total"]), *sorted(out["skills"].items())]
    for name, m in rows:
        lines.append(
            f"  {name:<20} {_num(m['offered'], '{:7.1f}')}  {_pct(m['service_level'])}"
            f"{_ci(m, 'service_level'):<16} {_num(m['asa_s'])}  {_pct(m['abandon_rate'])}"
            f"      {_num(m['queue_length'], '{:5.2f}')}  {_pct(m['occupancy'])}"
        )
    lines += [
        "",
        "per interval            skill          offered   SL %   ASA s  abandon %  queue  occupancy %",
    ]
    for r in out["intervals"]:
        lines.append(
            f"  {r['start'][:16]:<21} {r['skill']:<14} {_num(r['offered'], '{:6.1f}')}  "
            f"{_pct(r['service_level'])}  {_num(r['asa_s'])}  {_pct(r['abandon_rate'])}      "
            f"{_num(r['queue_length'], '{:5.2f}')}  {_pct(r['occupancy'])}"
        )
    lines += ["", "per agent               calls  occupancy %  staffed h"]
    for a in out["agents"]:
        lines.append(
            f"  {a['id']:<20} {a['calls']:7.1f}  {_pct(a['occupancy'])}        {a['staffed_h']:6.1f}"
        )
    return "\n".join(lines)


def plot(out: dict, path: str | Path) -> None:
    """Queue length and service level over the day, and agents by state, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a file only
    from datetime import datetime

    import matplotlib.pyplot as plt

    starts = sorted({r["start"] for r in out["intervals"]})
    when = [datetime.fromisoformat(s) for s in starts]
    index = {s: i for i, s in enumerate(starts)}
    skills = sorted({r["skill"] for r in out["intervals"]})
    fig, (ax_q, ax_sl, ax_ag) = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    for sk in skills:
        q = [None] * len(starts)
        sl = [None] * len(starts)
        for r in out["intervals"]:
            if r["skill"] == sk:
                q[index[r["start"]]] = r["queue_length"]
                sl[index[r["start"]]] = r["service_level"]
        ax_q.step(when, [x or 0 for x in q], where="post", label=sk)
        ax_sl.plot(when, [None if x is None else 100 * x for x in sl], marker=".", label=sk)
    ax_q.set_ylabel("callers waiting (mean)")
    ax_q.legend(loc="upper right", fontsize="small")
    ax_sl.set_ylabel(f"SL % (≤ {out['scenario']['target_s']:g} s)")
    ax_sl.set_ylim(0, 105)
    states = ("available", "reserved", "busy", "wrapup", "away")
    by = out["agents_by_state"][: len(when)]
    if by and when:
        ax_ag.stackplot(
            when, *[[b.get(s, 0) for b in by] for s in states], labels=states, step="post"
        )
        ax_ag.legend(loc="upper right", fontsize="small")
    ax_ag.set_ylabel("agents by state")
    fig.suptitle(f"{out['scenario']['name']} ({out['replications']} replication(s))")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
