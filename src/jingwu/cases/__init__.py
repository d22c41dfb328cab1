"""Cases (案件): lifecycle on the criminal and administrative tracks, legal time limits and reminders, parties
and their notifications, the public lookup by case number and access code, the seized-property and
frozen-account registers, penalty decision documents and the interference register."""
