"""Every job name the domain enqueues names a function of hotline.jobs (RQ imports it by that name)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from hotline import job_names


def test_every_job_name_is_a_function_of_hotline_jobs():
    for name in job_names.ALL:
        module, _, func = name.rpartition(".")
        assert callable(getattr(importlib.import_module(module), func, None)), name


def test_every_public_function_of_hotline_jobs_has_a_name():
    from hotline import jobs

    public = {
        f"hotline.jobs.{n}"
        for n, f in vars(jobs).items()
        if callable(f)
        and getattr(f, "__module__", "") == "hotline.jobs"
        and not n.startswith("_")
        and n not in ("services", "use_services", "current")
    }
    assert public <= set(job_names.ALL)


def test_no_module_spells_a_job_name_itself():
    root = Path(job_names.__file__).parent
    spelled = [
        f"{p.relative_to(root)}:{i}"
        for p in root.rglob("*.py")
        if p.name != "job_names.py"
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"[\"']hotline\.jobs\.\w+[\"']", line)
    ]
    assert not spelled, spelled
