"""Flask blueprints: HTTP <-> domain. One blueprint per webhook family."""
