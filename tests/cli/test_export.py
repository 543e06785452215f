"""gateway mailbox export: mbox (mboxrd), Maildir and .eml re-read with Python's mailbox."""

from __future__ import annotations

import asyncio
import base64
import mailbox as pymailbox
import random
import re
import smtplib

import pytest

from gateway.cli.export_formats import envelope_sender, unix_lines
from tests.support.mail import deliver

from .conftest import failed, ok, secret_file

BIG_BODY = base64.encodebytes(random.Random(7).randbytes(300_000)).replace(b"\n", b"\r\n")
MESSAGES = [
    b"Return-Path: <sender@example.org>\r\nFrom: a@example.org\r\nSubject: quoting\r\n\r\n"
    b"From here on every line matters.\r\n>From an old quote\r\n>>From deeper\r\nFrom\r\n",
    b"Subject: no final newline\r\n\r\nlast line without CRLF",
    b"Subject: big\r\n\r\n" + BIG_BODY + b"From the middle of a big one\r\n" + BIG_BODY,
    b"Subject: headers only\r\n\r\n",
]


def lf(message: bytes) -> bytes:
    return message.replace(b"\r\n", b"\n")


def unquote_mboxrd(data: bytes) -> bytes:
    return re.sub(rb"(?m)^>(>*From )", rb"\1", data)


@pytest.fixture
def filled(store, mailbox, tmp_path):
    """(mailbox id, passphrase file) holding MESSAGES; the first one flagged \\Seen."""
    box, passphrase = mailbox
    for message in MESSAGES:
        deliver(store, box.id, message)
    first = store.messages.list(box.id)[0]
    store.messages.set_flags(box.id, [first.id], ["\\Seen", "\\Flagged"])
    return box.id, secret_file(tmp_path, passphrase)


def export(run, mailbox_id, pass_file, out, fmt):
    return run(
        "mailbox",
        "export",
        mailbox_id,
        "--out",
        str(out),
        "--format",
        fmt,
        "--passphrase-file",
        pass_file,
    )


def test_mbox_round_trip(run, filled, tmp_path):
    mailbox_id, pass_file = filled
    out = tmp_path / "archive.mbox"
    result = ok(export(run, mailbox_id, pass_file, out, "mbox"))
    assert f"Exported 4 messages of {mailbox_id}" in result.stdout
    assert "Exporting" not in result.stdout  # no progress bar when stdout is not a terminal
    box = pymailbox.mbox(out)
    got = [unquote_mboxrd(box.get_bytes(key)) for key in box.keys()]
    expected = [lf(m) if m.endswith(b"\r\n") else lf(m) + b"\n" for m in MESSAGES]
    assert got == expected
    assert box.get_message(box.keys()[0]).get_from().startswith("sender@example.org ")
    assert box.get_message(box.keys()[1]).get_from().startswith("MAILER-DAEMON ")
    raw = out.read_bytes()
    assert b"\n>From here on" in raw and b"\n>>From an old" in raw and b"\n>>>From deeper" in raw
    assert b"\r\n" not in raw


def test_maildir_round_trip(run, filled, tmp_path):
    mailbox_id, pass_file = filled
    out = tmp_path / "Maildir"
    ok(export(run, mailbox_id, pass_file, out, "maildir"))
    assert {p.name for p in out.iterdir()} == {"cur", "new", "tmp"}
    assert not list((out / "tmp").iterdir())
    box = pymailbox.Maildir(out, factory=None, create=False)
    assert sorted(box.get_bytes(k) for k in box.keys()) == sorted(lf(m) for m in MESSAGES)
    (seen,) = list((out / "cur").iterdir())
    assert seen.name.endswith(":2,FS")
    assert seen.read_bytes() == lf(MESSAGES[0])
    assert len(list((out / "new").iterdir())) == 3


def test_eml_files_are_byte_exact(run, filled, tmp_path):
    mailbox_id, pass_file = filled
    out = tmp_path / "eml"
    out.mkdir()  # an existing empty directory is fine
    ok(export(run, mailbox_id, pass_file, out, "eml"))
    files = sorted(out.iterdir())
    assert all(f.suffix == ".eml" for f in files)
    assert sorted(f.read_bytes() for f in files) == sorted(MESSAGES)


def test_default_format_is_mbox(run, filled, tmp_path):
    mailbox_id, pass_file = filled
    out = tmp_path / "default"
    ok(run("mailbox", "export", mailbox_id, "--out", str(out), "--passphrase-file", pass_file))
    assert len(pymailbox.mbox(out)) == 4


def test_sealed_messages_are_skipped_with_a_warning(run, store, mailbox, tmp_path):
    box, _ = mailbox
    deliver(store, box.id, MESSAGES[0])
    current = store.keys.reset_passphrase(box.id)
    deliver(store, box.id, MESSAGES[1])
    out = tmp_path / "eml"
    result = ok(
        run(
            "mailbox",
            "export",
            box.id,
            "--out",
            str(out),
            "--format",
            "eml",
            "--passphrase-stdin",
            input=current + "\n",
        )
    )
    assert "Exported 1 messages" in result.stdout
    assert "1 messages sealed under an earlier passphrase" in result.stderr
    assert [f.read_bytes() for f in out.iterdir()] == [MESSAGES[1]]


@pytest.mark.parametrize("fmt", ["mbox", "maildir", "eml"])
def test_damaged_message_is_left_out_entirely(run, store, filled, data_dir, tmp_path, fmt):
    mailbox_id, pass_file = filled
    big = store.messages.list(mailbox_id)[2]
    (path,) = data_dir.rglob(f"{big.id}.age")
    data = bytearray(path.read_bytes())
    data[-1] ^= 1  # the last chunk's tag: earlier chunks decrypt before the failure
    path.write_bytes(bytes(data))
    out = tmp_path / f"out-{fmt}"
    failed(export(run, mailbox_id, pass_file, out, fmt), "1 damaged messages", big.id)
    if fmt == "mbox":
        box = pymailbox.mbox(out)
        contents = [unquote_mboxrd(box.get_bytes(k)) for k in box.keys()]
    elif fmt == "maildir":
        box = pymailbox.Maildir(out, factory=None, create=False)
        contents = [box.get_bytes(k) for k in box.keys()]
        assert not list((out / "tmp").iterdir())
    else:
        contents = [f.read_bytes() for f in out.iterdir()]
    assert len(contents) == 3
    assert not any(b"Subject: big" in c for c in contents)


@pytest.mark.parametrize("fmt", ["mbox", "maildir", "eml"])
def test_wrong_passphrase_writes_nothing(run, filled, tmp_path, fmt):
    mailbox_id, _ = filled
    out = tmp_path / "out"
    failed(
        run(
            "mailbox",
            "export",
            mailbox_id,
            "--out",
            str(out),
            "--format",
            fmt,
            "--passphrase-stdin",
            input="00000-00000-00000-00000-00000-00000\n",
        ),
        "wrong passphrase",
    )
    assert not out.exists()


def test_existing_targets_are_refused(run, filled, tmp_path):
    mailbox_id, pass_file = filled
    existing = tmp_path / "existing.mbox"
    existing.write_bytes(b"precious")
    failed(export(run, mailbox_id, pass_file, existing, "mbox"), "already exists")
    assert existing.read_bytes() == b"precious"
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep").write_text("x")
    for fmt in ("maildir", "eml"):
        failed(export(run, mailbox_id, pass_file, busy, fmt), "not an empty directory")
    assert [p.name for p in busy.iterdir()] == ["keep"]


def test_unknown_mailbox_and_format(run, mailbox, tmp_path):
    failed(
        run(
            "mailbox",
            "export",
            "ghost@example.test",
            "--out",
            str(tmp_path / "x"),
            "--passphrase-stdin",
            input="x\n",
        ),
        "no mailbox ghost@example.test",
    )
    failed(
        run(
            "mailbox",
            "export",
            "journal@example.test",
            "--out",
            str(tmp_path / "x"),
            "--format",
            "pst",
        ),
        "--format",
        code=2,
    )


def test_empty_mailbox_exports_an_empty_mbox(run, mailbox, tmp_path):
    box, passphrase = mailbox
    out = tmp_path / "empty.mbox"
    ok(
        run(
            "mailbox",
            "export",
            box.id,
            "--out",
            str(out),
            "--passphrase-file",
            secret_file(tmp_path, passphrase),
        )
    )
    assert out.read_bytes() == b""


@pytest.mark.parametrize("quote", [True, False])
def test_unix_lines_does_not_depend_on_chunking(quote):
    data = b"".join(MESSAGES) + b"\rFrom \r\r\n\n>From x"
    whole = b"".join(unix_lines([data], quote))
    rng = random.Random(3)
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(data)), 20))
        pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        assert b"".join(unix_lines(pieces, quote)) == whole
    for size in (1, 2, 3):
        assert (
            b"".join(unix_lines([data[i : i + size] for i in range(0, len(data), size)], quote))
            == whole
        )


def test_envelope_sender_only_from_the_head():
    assert envelope_sender(b"Return-Path: <a@b.c>\r\n\r\n") == "a@b.c"
    assert envelope_sender(b"Return-Path: <>\r\n\r\n") == "MAILER-DAEMON"
    assert envelope_sender(b"Subject: x\r\n\r\nReturn-Path: <a@b.c>\r\n") == "MAILER-DAEMON"
    assert envelope_sender(b"Return-Path: <j\xf6rg@b.c>\r\n\r\n") == "MAILER-DAEMON"  # not UTF-8
    assert envelope_sender(b"Return-Path: <a\x01b@b.c>\r\n\r\n") == "MAILER-DAEMON"


UTF8_SENDERS = [
    ("jörg@bücher.example", "MAILER-DAEMON"),  # no ASCII form of the local part exists
    ("archiv@bücher.example", "archiv@xn--bcher-kva.example"),  # the domain as its A-label
    ("plain@example.org", "plain@example.org"),
]


def send_smtputf8(port: int, to: str, client_tls) -> list[bytes]:
    """Over real SMTP with STARTTLS: MAIL FROM:<sender> SMTPUTF8, one message per sender."""
    sent = []
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.starttls(context=client_tls)
        for sender, _ in UTF8_SENDERS:
            raw = f"From: {sender}\r\nSubject: Grüße\r\n\r\nFrom {sender} mit Grüßen\r\n".encode()
            client.sendmail(sender, [to], raw, mail_options=["SMTPUTF8"])
            sent.append(raw)
    return sent


async def test_mbox_of_smtputf8_senders_reads_back_with_python_mailbox(
    run, store, mailbox, smtp_port, client_tls, tmp_path
):
    box_info, passphrase = mailbox
    await asyncio.to_thread(send_smtputf8, smtp_port, box_info.address, client_tls)
    key = store.keys.unlock(box_info.id, passphrase)
    stored = [b"".join(store.messages.read(key, m)) for m in store.messages.list(box_info.id)]
    assert stored[0].startswith("Return-Path: <jörg@bücher.example>\r\n".encode())
    out = tmp_path / "utf8.mbox"
    pass_file = secret_file(tmp_path, passphrase)
    ok(await asyncio.to_thread(export, run, box_info.id, pass_file, out, "mbox"))
    raw = out.read_bytes()
    from_lines = [line for line in raw.split(b"\n") if line.startswith(b"From ")]
    assert len(from_lines) == 3 and all(line.isascii() for line in from_lines)
    assert "\ufffd".encode() not in raw
    box = pymailbox.mbox(out)
    messages = list(box)  # get_message() decodes the From_ line as ASCII
    assert [m.get_from().split(" ", 1)[0] for m in messages] == [e for _, e in UTF8_SENDERS]
    assert [unquote_mboxrd(box.get_bytes(k)) for k in box.keys()] == [lf(m) for m in stored]
