"""Cases use cases: one module per group (lifecycle, parties and public lookup, registers, decisions,
interference and reminders). Each owns its transaction."""
