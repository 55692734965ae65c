"""Redis: the connection (embedded or REDIS_URL), every key name, the Lua scripts."""

from .connection import connect, redis_url  # noqa: F401
from .keys import Keys  # noqa: F401
