"""The fetcher as the console and the API call it ("fetch now", "test connection"):
web never imports gateway (DESIGN §1), so serve hands it these two callables in
WebOptions.source_runner."""

from __future__ import annotations

import functools
from typing import Any

from storage.sources import Source
from web.options import SourceRunner

from .check import CheckOutcome, check_source
from .fetch import Fetcher, FetchOptions, FetchOutcome


def source_runner(options: FetchOptions, metrics: Any = None) -> SourceRunner:
    def fetch(store: Any, source: Source) -> FetchOutcome:
        return Fetcher(store, options, metrics).run(source)

    return SourceRunner(fetch=fetch, check=functools.partial(_check, options))


def _check(options: FetchOptions, store: Any, source: Source) -> CheckOutcome:
    return check_source(store, options, source)
