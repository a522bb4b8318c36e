"""pytest plugin: the ``reward_checker`` fixture."""
