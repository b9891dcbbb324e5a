"""Workshop mode: a room of people on one app (access codes, display names, the room's settings, a leaderboard)."""
