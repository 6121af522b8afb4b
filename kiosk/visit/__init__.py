"""visit."""
