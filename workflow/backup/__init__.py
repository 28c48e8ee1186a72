"""Backup and restore of a whole installation (issue 17 #5); see docs/deployment.md."""
