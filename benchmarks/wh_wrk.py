"""wrk as the closed-loop load generator: a Lua script replays precomputed signed requests.

Each wrk thread replays its own file of request lines and checks every answer (HTTP
200, the marker, not the antimarker); `done` prints one WRKJSON line (counts and
latency percentiles) and a WRKBAD sample of the first bad answer per thread. wrk has no
fixed arrival rate: the open-loop runs always use the Python client (wh_client.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from wh_common import HOST

WRK_LUA = r"""
-- Written by benchmarks/webhooks.py (wh_wrk.py): each thread replays its own file of signed requests.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  marker = args[2]
  antimarker = args[3]
  connection = args[4]  -- "close": a new connection per request, as the Python client does
  reqs = {}
  for line in io.lines(args[1] .. "." .. tid) do
    local path, body, sig = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)$")
    local headers = {["Content-Type"] = "application/x-www-form-urlencoded", ["X-Twilio-Signature"] = sig}
    if connection == "close" then headers["Connection"] = "close" end
    reqs[#reqs + 1] = wrk.format("POST", path, headers, body)
  end
  n = #reqs
  i = 0
  sent = 0
  bad_status = 0
  bad_body = 0
end

function request()
  i = i + 1
  if i > n then i = 1 end
  sent = sent + 1
  return reqs[i]
end

function response(status, headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
    if not sample then sample = status .. " " .. string.sub(body, 1, 300) end
  elseif not string.find(body, marker, 1, true)
      or (antimarker ~= "" and string.find(body, antimarker, 1, true)) then
    bad_body = bad_body + 1
    if not sample then sample = string.sub(body, 1, 300) end
  end
end

function done(summary, latency, requests)
  local s, bs, bb = 0, 0, 0
  local per = {}
  for _, t in ipairs(threads) do
    local smp = t:get("sample")
    if smp then io.write("WRKBAD " .. string.gsub(smp, "\n", " ") .. "\n") end
    s = s + t:get("sent")
    bs = bs + t:get("bad_status")
    bb = bb + t:get("bad_body")
    per[#per + 1] = tostring(t:get("sent"))
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"sent":%d,"sent_per_thread":[%s],' ..
    '"bad_status":%d,"bad_body":%d,"mean_ms":%.3f,"max_ms":%.3f,"p50_ms":%.3f,' ..
    '"p90_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    s, table.concat(per, ","), bs, bb, latency.mean / 1000, latency.max / 1000,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
end
"""


def wrk_command(
    args,
    tmp: Path,
    port: int,
    data: Path,
    lines: list[str],
    duration: float,
    marker: str,
    antimarker: str,
) -> list[str]:
    """Write the Lua script and one request file per thread; the command line that runs them."""
    threads = max(1, args.wrk_threads)
    per = [lines[k::threads] for k in range(threads)]
    for k, chunk in enumerate(per):
        Path(f"{data}.{k}").write_text("\n".join(chunk) + "\n")
    script = tmp / "replay.lua"
    script.write_text(WRK_LUA)
    return [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(args.clients),
        "-d",
        f"{duration:g}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://{HOST}:{port}",
        "--",
        str(data),
        marker,
        antimarker,
        args.wrk_connection,
    ]


def parse_wrk(out: str, err: str) -> dict:
    """The figures of wrk's WRKJSON line, in the Python client's shape."""
    line = next((x for x in out.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out}\n{err}")
    w = json.loads(line[len("WRKJSON ") :])
    bad = [x[len("WRKBAD ") :] for x in out.splitlines() if x.startswith("WRKBAD ")]
    elapsed = w["duration_us"] / 1e6
    errors = {
        k: w[k]
        for k in (
            "connect_errors",
            "read_errors",
            "write_errors",
            "timeouts",
            "bad_status",
            "bad_body",
        )
        if w[k]
    }
    res = {
        "requests": w["requests"],
        "sent": w["sent"],
        "rps": w["requests"] / elapsed,
        "mean_ms": w["mean_ms"],
        "p50_ms": w["p50_ms"],
        "p90_ms": w["p90_ms"],
        "p99_ms": w["p99_ms"],
        "p999_ms": w["p999_ms"],
        "max_ms": w["max_ms"],
        "errors": errors,
    }
    if bad:
        res["bad_sample"] = bad[0]
    return res
