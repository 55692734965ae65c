"""Who may take which call, and when: the agents' state machine and idle pools (`agents`),
the one eligibility rule (`eligibility`), the routing decisions (`matcher`), the offers'
ends (`reservations`), overflow steps and after-hours (`overflow`, `afterhours`), what each
trigger does (`engine`). The roster it routes on is `hotline.roster` (read through
`svc.roster`, the roster store).
"""
