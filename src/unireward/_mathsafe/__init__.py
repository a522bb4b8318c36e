"""Safe math checking: an expression screen, a safe evaluator and a killable worker."""
