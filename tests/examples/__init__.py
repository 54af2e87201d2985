"""The docs' examples, run as a partner runs them (test_docs_examples.py)."""
