"""Workforce management: staffing maths (`erlang`), the forecast (`forecast`), the plan
(`plan`) and the reports (`report`). Pure functions over calls and the roster: nothing
here reads Redis or knows Flask; the CLI hands them what `hotline.history` read.
"""
