"""Built-in ACME certificates (tls.acme): the issuing client, the manager task that
renews, and the HTTP-01 responder. Files and status live under DATA/tls/acme/
(storage/acme_status.py, which the console reads too)."""
