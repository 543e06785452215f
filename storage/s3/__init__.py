"""Message files as objects in an S3-compatible store (issue 13): the same age files."""
