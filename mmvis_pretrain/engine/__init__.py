"""Engine: hooks, optimizer constructors and loops of the scope."""
