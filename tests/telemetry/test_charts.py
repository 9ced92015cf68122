import math

import pytest

from telemetry.charts import daily_bars, model_slices, nice_ceiling


@pytest.mark.parametrize(
    "value, top",
    [(0, 1.0), (-3, 1.0), (0.003, 0.01), (0.5, 0.5), (5, 5), (10, 10), (1234, 2000), (999.9, 1000)],
)
def test_the_axis_top_is_a_round_number_at_least_the_value(value, top):
    assert nice_ceiling(value) == pytest.approx(top)


@pytest.mark.parametrize("value", [math.inf, math.nan, 1e308, 1.7e308])
def test_the_axis_top_never_fails_or_becomes_infinite(value):
    assert math.isfinite(nice_ceiling(value))


def test_bars_of_a_near_maximum_cost_stay_finite():
    chart = daily_bars([{"date": "2026-02-06", "cost": 1.7e308, "tokens": 1, "invocations": 1}])
    assert all(math.isfinite(b["h"]) for b in chart["bars"])


def test_models_beyond_the_listed_ones_join_the_other_slice():
    models = [{"model": "a", "invocations": 3, "tokens": 3, "cost": 3.0}]
    more = {"count": 4, "invocations": 1, "tokens": 1, "cost": 1.0}
    slices = model_slices(models, more)
    assert [s["model"] for s in slices] == ["a", "4 other models"]
    assert [s["percent"] for s in slices] == [75.0, 25.0]
