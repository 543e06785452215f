"""Overdue passphrases in /metrics: an aggregate gauge and a 0/1 series per mailbox."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from storage import policy
from tests.support.policy import age_passphrase


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_overdue_passphrases_are_counted(gateway_context, store, domain):
    ctx = gateway_context
    ctx.metrics.attach(ctx)
    overdue, _ = store.mailboxes.create(domain, actor=None)  # 3 months, 100 days old
    in_time, _ = store.mailboxes.create(domain, actor=None)  # 12 months, 100 days old
    unlimited, _ = store.mailboxes.create(domain, actor=None)  # no maximum age, 1000 days old
    store.mailboxes.update(overdue.id, settings_update=policy.max_age_update(90))
    store.mailboxes.update(in_time.id, settings_update=policy.max_age_update(365))
    for mailbox_id, days in ((overdue.id, 100), (in_time.id, 100), (unlimited.id, 1000)):
        age_passphrase(store, mailbox_id, days)

    response = await ctx.metrics.handler(ctx, None)
    got = samples(response.body.decode())
    assert got[("journal_gateway_mailboxes_passphrase_overdue", ())] == 1
    per_mailbox = {
        mailbox_id: got[
            (
                "journal_gateway_mailbox_passphrase_overdue",
                (("domain", domain), ("mailbox", mailbox_id)),
            )
        ]
        for mailbox_id in (overdue.id, in_time.id, unlimited.id)
    }
    assert per_mailbox == {overdue.id: 1, in_time.id: 0, unlimited.id: 0}

    store.mailboxes.update(overdue.id, settings_update=policy.max_age_update(None))
    got = samples((await ctx.metrics.handler(ctx, None)).body.decode())
    assert got[("journal_gateway_mailboxes_passphrase_overdue", ())] == 0
