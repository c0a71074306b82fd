"""schemathesis' command line, with `ast.parse` made safe to call from two threads at once.

CPython 3.11's AST constructor checks its recursion depth against state that the interpreter's
threads share, and parses from two threads at once can fail that check with "SystemError: AST
constructor recursion depth mismatch" (reported for threaded programs in python/cpython#106905; seen
here on 3.11.7). With `--workers 2`, Hypothesis, inside schemathesis, parses the source of each lambda
a strategy is mapped or filtered with, to name it, from both workers: once in a while a whole fuzzing
run crashed that way (seen in CI on 2026-12-05, admin role). A lock around `ast.parse` serialises
only those parses; the requests still go out from both workers.
"""

import ast
import sys
import threading

from schemathesis.cli import schemathesis

_parse = ast.parse
_parsing = threading.Lock()


def _parse_one_at_a_time(*args, **kwargs):
    with _parsing:
        return _parse(*args, **kwargs)


if __name__ == "__main__":
    ast.parse = _parse_one_at_a_time
    sys.exit(schemathesis())
