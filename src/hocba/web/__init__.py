"""The web shell: base layout, sign-in, landing pages per role, scoped admin."""
