"""Documentation assets, and the script that makes the README's screenshots."""
