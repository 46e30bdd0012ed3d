"""`python -m antbot_source.sandbox serve ...`: the same command as `antbot sandbox serve`."""

from antbot_source.sandbox.serve_cmd import sandbox_app

sandbox_app(prog_name="python -m antbot_source.sandbox")
