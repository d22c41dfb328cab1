"""Platform: settings, database, unit of work, event bus, outbox, auth, audit log."""
