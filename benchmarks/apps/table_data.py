"""The data of the render benchmark: 50 table rows, the same for every app.

Names carry ``&``, ``<`` and quotes so that autoescaping does real work.
"""

from __future__ import annotations

from typing import Any

TITLE = "Accounts & <Balances>"

ROWS: list[dict[str, Any]] = [
    {
        "id": number,
        "name": f"User {number} O'Neil & <Sons>" if number % 7 == 0 else f"User {number}",
        "email": f"user{number}@example.com",
        "amount": number * 1234.5678,
        "active": number % 3 != 0,
    }
    for number in range(1, 51)
]
