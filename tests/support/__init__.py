"""Helpers shared by the test packages (fixtures stay in the conftest files).

- argon: light Argon2id parameters for stores and for CLI/serve subprocesses.
- tools: external Debian tools (skip loudly outside CI, fail in CI), running them.
- retrievers: fetchmail and getmail as real clients, and what they change in mail.
- mail: sample messages, storing them directly, sending them with smtplib.
- servers: a running POP3/IMAP service with one mailbox, as their fixtures hand it out.
- sockets: a blocking socket client base for raw protocol tests (run in threads).
"""
