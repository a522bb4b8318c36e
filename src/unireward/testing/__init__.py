"""Property-testing toolkit for reward functions."""
