"""Conversation features beside the turn: deletion, feedback, shares, transfers, rollback."""
