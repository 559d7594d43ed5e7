"""The one output format every benchmark shares: a JSON object on the last line."""

import json
import sys


def emit(*, bench: str, value: float, unit: str, limit: float | None, **extra: object) -> dict:
    """Print the benchmark's figure beside the raw limit measured in the same run."""
    ratio = round(value / limit, 4) if limit else None
    record = {"bench": bench, "value": value, "unit": unit, "limit": limit, "ratio": ratio, **extra}
    sys.stdout.flush()
    print(json.dumps(record), flush=True)
    return record


def percentile(ordered: list[float], q: float) -> float:
    """The `q` quantile (0..1) of values sorted ascending, rounded to 2 places (0.0 if none)."""
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else 0.0
