"""The configuration reference as a Markdown table, generated from the schema.

`python -m gateway.config.docs` prints it; README.md carries a copy that a test keeps
in step with the schema (every key, its default and its description).
"""

from __future__ import annotations

from .schema import OPTIONS, Option


def default_text(option: Option) -> str:
    value = option.default
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[]" if not value else str(value)
    return str(value)


def markdown_table() -> str:
    lines = [
        "| key | type | default | environment variable | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for option in OPTIONS:
        kind = f"list of {option.item_type.__name__}" if option.item_type else option.type.__name__
        lines.append(
            f"| `{option.key}` | {kind} | `{default_text(option)}` | `{option.env}` |"
            f" {option.doc} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
