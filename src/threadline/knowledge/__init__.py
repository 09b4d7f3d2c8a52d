"""What users keep beyond a conversation: memories, documents, retrieval over them."""
