"""A minimal example feature (duty notes, 值班记录) plugged in through the feature registry by the tests;
docs/adding-a-feature.md walks through it. It is test code: the product does not list it."""
