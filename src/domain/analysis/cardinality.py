"""What a column's name says about how many values it holds, when nothing better is known.

The data plan of the lab and the rollup pass both guess cardinality from names where no
statistics were read: ``country`` or ``status`` hold a handful of values, ``email`` or
``order_id`` nearly one per row. One home for the guess, so the two agree.

>>> bool(LOW_CARDINALITY.search("payment_method")), bool(KEY_NAME.search("customer_id"))
(False, True)
>>> bool(KEY_NAME.search("order_number")), bool(KEY_NAME.search("phone_no"))
(True, True)
>>> bool(LOW_CARDINALITY.search("device")), bool(HIGH_CARDINALITY.search("email"))
(True, True)
"""

from __future__ import annotations

import re

__all__ = ["HIGH_CARDINALITY", "KEY_NAME", "LOW_CARDINALITY"]

LOW_CARDINALITY = re.compile(
    r"(status|state|type|kind|flag|code|category|class|level|tier|segment|channel|device|"
    r"browser|os|platform|country|region|currency|lang|language|gender|priority|queue|team|"
    r"airline|carrier|section|source|medium|origin|dest|city|plan|group|stage|mode|unit)s?$"
)
HIGH_CARDINALITY = re.compile(
    r"(name|title|subject|body|text|description|comment|note|email|url|address|phone|"
    r"agent|referrer|path|query|message|hash|token|uuid|number|sku)s?$"
)
# keys: ids, surrogate, hash and business keys (a Data Vault's ``_hk`` and ``_bk``), numbers
KEY_NAME = re.compile(
    r"(^id$|_id$|_key$|_sk$|_hk$|_bk$|_pk$|_fk$|^key$|_number$|_no$|uuid$|^email$)"
)
