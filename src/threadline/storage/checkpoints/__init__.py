"""The checkpointer and the code that reads and writes its tables directly."""
