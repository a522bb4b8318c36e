"""Safe math checking (private).

- :mod:`.prm800k`: the PRM800K answer grader, its last step made safe;
- :mod:`.safe_eval`: the ``eval``-free evaluator behind that last step;
- :mod:`.screen`: a linear-time screen for expressions that would explode;
- :mod:`.native`: exact answers for realistic pairs that need no symbolic engine;
- :mod:`.worker`: killable worker processes with a hard deadline.
"""
