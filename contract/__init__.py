"""The contract suite: checks the vendor surface as a client sees it, against the mock or live."""
