"""The agent on each session host: reports its sessions and load, carries out commands."""
