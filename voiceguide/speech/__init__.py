"""Speech engines behind one interface, and the clip cache."""
