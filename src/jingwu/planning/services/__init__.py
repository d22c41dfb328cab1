"""Planning use cases: pure functions over tables and the road graph (no database)."""
