"""One hand-computed book of business for 2025, used by the pure and the database retention tests.

Period 2025-01-01..2025-12-31, ARR in cents:
  C1 (A) 100,000 flat renewal on 1 Jan, amended to 130,000 from 1 Jul      -> expansion 30,000
  C2 (A) 200,000 ends 31 May, not renewed                                  -> churn 200,000
  C3 (B)  50,000 two-year term, 10 % escalator on 1 Jan 2025               -> escalator 5,000
  C4 (B)  new 40,000 from 1 Mar                                            -> new 40,000
  C5 (A)  80,000 ends 31 Mar, returns 1 Jun at 60,000                      -> contraction 20,000, not lost
  C6 (B)  churned in 2023, returns 1 Apr at 35,000                         -> reactivation 35,000
  C7 (A)  parent; child 71 ends 31 Aug, child 72 starts 1 Sep at the same 70,000 -> no movement
  C8 (B)  60,000 amended down to 45,000 from 1 Oct                         -> contraction 15,000
Start 560,000 (6 customers); end 435,000; GRR 325/560; NRR 360/560; logo churn 1/6.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd

from opsdesk.success.arr import Term, arr_steps
from opsdesk.success.movements import classify

PERIOD = (date(2025, 1, 1), date(2025, 12, 31))
SEGMENT = {1: "A", 2: "A", 3: "B", 4: "B", 5: "A", 6: "B", 7: "A", 8: "B"}


def terms() -> list[Term]:
    d = date
    return [
        Term(11, 1, d(2024, 1, 1), d(2024, 12, 31), 100_000),
        Term(12, 1, d(2025, 1, 1), d(2025, 6, 30), 100_000, amended=True),
        Term(13, 1, d(2025, 7, 1), d(2025, 12, 31), 130_000, anniversary_base=d(2025, 1, 1)),
        Term(21, 2, d(2024, 6, 1), d(2025, 5, 31), 200_000),
        Term(31, 3, d(2024, 1, 1), d(2025, 12, 31), 50_000, Decimal(10)),
        Term(41, 4, d(2025, 3, 1), d(2026, 2, 28), 40_000),
        Term(51, 5, d(2024, 1, 1), d(2025, 3, 31), 80_000),
        Term(52, 5, d(2025, 6, 1), d(2026, 5, 31), 60_000),
        Term(61, 6, d(2023, 1, 1), d(2023, 12, 31), 30_000),
        Term(62, 6, d(2025, 4, 1), d(2026, 3, 31), 35_000),
        Term(71, 71, d(2024, 1, 1), d(2025, 8, 31), 70_000),
        Term(72, 72, d(2025, 9, 1), d(2026, 8, 31), 70_000),
        Term(81, 8, d(2024, 1, 1), d(2025, 9, 30), 60_000, amended=True),
        Term(82, 8, d(2025, 10, 1), d(2025, 12, 31), 45_000, anniversary_base=d(2024, 1, 1)),
    ]


PARENT = {71: 7, 72: 7}


def movements() -> pd.DataFrame:
    return classify(arr_steps(terms()), PARENT)


def customers() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": list(SEGMENT), "segment": list(SEGMENT.values())})
