"""Group commit: concurrent deliveries share fsync passes and transactions, and each
caller returns only with its own row committed."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest

from storage import NotFound
from storage.group_commit import GroupCommitter

from .helpers import blob_files, read_all

THREADS = 12
PER_THREAD = 8


def test_concurrent_deliveries_all_get_rows_and_increasing_uids(store, domain, data_dir):
    mailboxes = [store.mailboxes.create(domain, actor=None) for _ in range(3)]
    start = threading.Barrier(THREADS)
    results: dict[int, list] = defaultdict(list)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        box = mailboxes[index % len(mailboxes)][0]
        try:
            start.wait()
            for n in range(PER_THREAD):
                delivery = store.messages.begin_delivery(box.id)
                delivery.write(f"Subject: {index}-{n}\r\n\r\n".encode() * (n + 1))
                (info,) = store.messages.commit_deliveries([delivery])
                # Committed means visible, from any thread, right now.
                assert store.messages.get(box.id, info.id) == info
                results[index].append(info)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(len(r) for r in results.values()) == THREADS * PER_THREAD
    assert len(blob_files(data_dir)) == THREADS * PER_THREAD

    for box, passphrase in mailboxes:
        listed = store.messages.list(box.id)
        uids = [m.uid for m in listed]
        assert uids == list(range(1, len(listed) + 1))  # unique, gapless, increasing
        assert store.mailboxes.get(box.id).messages == len(listed)
        assert store.messages.next_uid(box.id) == len(listed) + 1
        key = store.keys.unlock(box.id, passphrase)
        for info in listed:
            assert read_all(store, key, info).startswith(b"Subject: ")
    for index, infos in results.items():
        # Each thread's own later deliveries got later UIDs.
        assert [m.uid for m in infos] == sorted(m.uid for m in infos)
        texts = {
            m.id: f"Subject: {index}-{n}\r\n\r\n".encode() * (n + 1) for n, m in enumerate(infos)
        }
        box_id = infos[0].mailbox_id
        box_passphrase = next(p for b, p in mailboxes if b.id == box_id)
        key = store.keys.unlock(box_id, box_passphrase)
        for info in infos:
            assert read_all(store, key, info) == texts[info.id]


def test_one_transaction_with_copies_for_several_mailboxes(store, domain) -> None:
    boxes = [store.mailboxes.create(domain, actor=None)[0] for _ in range(3)]
    copies = [store.messages.begin_delivery(box.id) for box in boxes]
    for copy in copies:
        copy.write(b"Subject: to three\r\n\r\n")
    infos = store.messages.commit_deliveries(copies)
    assert [i.mailbox_id for i in infos] == [b.id for b in boxes]
    assert all(store.messages.list(b.id) == [i] for b, i in zip(boxes, infos, strict=True))


# --- the committer itself -------------------------------------------------------------


def test_committer_batches_concurrent_submissions() -> None:
    batches: list[list[int]] = []
    in_batch = threading.Event()
    release = threading.Event()

    def commit(items: list[int]) -> list[object]:
        batches.append(list(items))
        if len(batches) == 1:
            in_batch.set()
            release.wait(5)
        return [item * 10 for item in items]

    committer = GroupCommitter(commit)
    results: dict[int, object] = {}

    def submit(item: int) -> None:
        results[item] = committer.submit(item)

    leader = threading.Thread(target=submit, args=(0,))
    leader.start()
    assert in_batch.wait(5)
    followers = [threading.Thread(target=submit, args=(i,)) for i in range(1, 9)]
    for thread in followers:
        thread.start()
    # Wait until every follower is queued behind the running batch (the queue is
    # internal, but polling it keeps this test free of sleeps), then let it finish.
    for _ in range(200):
        if len(committer._queue) == 8:
            break
        threading.Event().wait(0.01)
    release.set()
    for thread in [leader, *followers]:
        thread.join(5)
    assert results == {i: i * 10 for i in range(9)}
    assert batches[0] == [0]
    assert sorted(batches[1]) == list(range(1, 9))  # all followers in one batch
    assert len(batches) == 2


def test_committer_reports_errors_to_the_right_callers() -> None:
    def commit(items: list[object]) -> list[object]:
        if "all-fail" in items:
            raise RuntimeError("disk on fire")
        return [ValueError(item) if item == "bad" else item for item in items]

    committer = GroupCommitter(commit)
    assert committer.submit("good") == "good"
    with pytest.raises(ValueError):
        committer.submit("bad")
    with pytest.raises(RuntimeError):
        committer.submit("all-fail")
    assert committer.submit("again") == "again"  # the committer is not wedged


def test_a_failing_group_does_not_sink_the_others(store, domain, data_dir) -> None:
    live, _ = store.mailboxes.create(domain, actor=None)
    doomed, _ = store.mailboxes.create(domain, actor=None)
    doomed_copy = store.messages.begin_delivery(doomed.id)
    doomed_copy.write(b"Subject: doomed\r\n\r\n")
    store.mailboxes.delete(doomed.id)
    live_copies = [store.messages.begin_delivery(live.id) for _ in range(4)]
    outcomes: dict[str, object] = {}

    def commit(name: str, copies) -> None:
        try:
            outcomes[name] = store.messages.commit_deliveries(copies)
        except NotFound as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=commit, args=("doomed", [doomed_copy]))]
    for n, copy in enumerate(live_copies):
        copy.write(f"Subject: live {n}\r\n\r\n".encode())
        threads.append(threading.Thread(target=commit, args=(f"live{n}", [copy])))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert isinstance(outcomes["doomed"], NotFound)
    assert [m.uid for m in store.messages.list(live.id)] == [1, 2, 3, 4]
    assert len(blob_files(data_dir)) == 4
