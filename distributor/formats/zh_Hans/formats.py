"""Simplified Chinese numbers grouped by thousands with commas, as Chinese finance tables print them.

Django's zh_Hans file has no thousands separator (and groups by four), so ``intcomma`` and
``floatformat:"g"`` printed 1635884 in Chinese beside 1,635,884 in English. Everything not set here
(dates, input formats) still comes from Django's zh_Hans formats.
"""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
