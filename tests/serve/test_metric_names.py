"""Every metric name dashboards read is declared once and exported from the first scrape."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

# name (as the parser reports a family: counters without _total) → type
DASHBOARD_METRICS = {
    "journal_gateway_smtp_connections": "counter",
    "journal_gateway_smtp_connections_refused": "counter",
    "journal_gateway_smtp_messages": "counter",
    "journal_gateway_smtp_bytes": "counter",
    "journal_gateway_smtp_copies_stored": "counter",
    "journal_gateway_smtp_recipients_rejected": "counter",
    "journal_gateway_smtp_journal_reports": "counter",
    "journal_gateway_smtp_transaction_seconds": "histogram",
    "journal_gateway_logins": "counter",
    "journal_gateway_login_throttled": "counter",
    "journal_gateway_pop3_sessions": "counter",
    "journal_gateway_pop3_login_failures": "counter",
    "journal_gateway_pop3_messages_deleted": "counter",
    "journal_gateway_pop3_damaged": "counter",
    "journal_gateway_imap_connections": "counter",
    "journal_gateway_imap_damaged": "counter",
    "journal_gateway_acme_renewals": "counter",
    "journal_gateway_login_waiting": "gauge",
    "journal_gateway_argon2_unlocks_in_flight": "gauge",
    "journal_gateway_unlock_cache_entries": "gauge",
    "journal_gateway_disk_free_bytes": "gauge",
    "journal_gateway_tls_certificate_expiry_timestamp_seconds": "gauge",
    "journal_gateway_tls_certificate_seconds_left": "gauge",
    "journal_gateway_mailbox_messages": "gauge",
    "journal_gateway_mailbox_bytes": "gauge",
    "journal_gateway_mailbox_passphrase_overdue": "gauge",
    "journal_gateway_mailboxes_passphrase_overdue": "gauge",
    "journal_gateway_source_messages": "counter",
    "journal_gateway_source_bytes": "counter",
    "journal_gateway_source_failures": "counter",
    "journal_gateway_source_last_success_timestamp_seconds": "gauge",
    "journal_gateway_source_failing": "gauge",
}


async def test_every_dashboard_metric_is_exported_before_any_traffic(gateway_context):
    ctx = gateway_context
    ctx.metrics.attach(ctx)
    response = await ctx.metrics.handler(ctx, None)
    families = {f.name: f.type for f in text_string_to_metric_families(response.body.decode())}
    assert {n: families.get(n) for n in DASHBOARD_METRICS} == DASHBOARD_METRICS


async def test_unlabelled_counters_start_at_zero(gateway_context):
    ctx = gateway_context
    response = await ctx.metrics.handler(ctx, None)
    text = response.body.decode()
    assert "journal_gateway_smtp_connections_total 0.0" in text
    assert "journal_gateway_imap_damaged_total 0.0" in text
