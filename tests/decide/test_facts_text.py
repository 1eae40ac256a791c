"""Evidence text a person reads: rates as percentages, counts with their basis."""

from __future__ import annotations

from tests.decide.kit import anomaly, gap

from selfheal.decide.facts import anomaly_fact, soft_failure_facts


def test_rate_evidence_reads_as_percentages() -> None:
    fact = anomaly_fact(
        anomaly("a1", "error_rate", endpoint="POST /webhooks/order-created", status="4xx"), True
    )
    assert "50.0% vs expected 1.00%" in fact.text
    assert "0.5 vs" not in fact.text


def test_count_evidence_stays_a_number() -> None:
    a = anomaly("a2", "orders").model_copy(update={"observed": 51.0, "expected": 1370.4})
    assert "51 vs expected 1,370" in anomaly_fact(a, False).text


def test_soft_failure_evidence_says_its_basis() -> None:
    (fact,) = soft_failure_facts((gap("m1", "wave_1", 40, 30), gap("m2", "wave_1", 60, 20)))
    assert fact.text.startswith(
        "50 of 100 successful payments at stage wave_1 in the window have no order.created"
    )


def test_shares_read_as_percentages_and_counts_are_not_cut_to_raw_decimals() -> None:
    # The streaming detectors' "share of requests failing per minute" is a fraction like a rate.
    share = anomaly("a3", "error_share_per_minute").model_copy(
        update={"observed": 0.0501, "expected": 0.0002}
    )
    text = anomaly_fact(share, False).text
    assert "5.01% vs expected 0.02%" in text and "0.0501" not in text
    per_minute = anomaly("a4", "orders_per_minute").model_copy(
        update={"observed": 3.4567, "expected": 12.3456}
    )
    assert "3.5 vs expected 12.3" in anomaly_fact(per_minute, False).text


def test_long_evidence_is_cut_between_words_never_inside_a_figure() -> None:
    from selfheal.decide.assessment import clip

    text = "x" * 590 + " USD 12,345.67 lost"
    clipped = clip(text)
    assert len(clipped) <= 600 and clipped.endswith("…")
    assert "USD 12" not in clipped or "USD 12,345.67" in clipped
    assert clip("short text") == "short text"
