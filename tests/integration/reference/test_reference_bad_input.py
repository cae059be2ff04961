"""Bad input never yields a 5xx or a crash: a fixed corpus and hypothesis properties."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.integration

JSON = "application/json"
MIB = 1_048_576

CORPUS: list[tuple[str, str, bytes, str, int]] = [
    # (name, path, body, content type, expected status)
    ("truncated json", "/predict", b'{"features": ', JSON, 422),
    ("not json at all", "/predict", b"features=1", JSON, 422),
    ("invalid utf-8", "/predict", b'{"features": {"a": "\xff\xfe"}}', JSON, 422),
    ("array body", "/predict", b"[1, 2, 3]", JSON, 422),
    ("empty object", "/predict", b"{}", JSON, 422),
    ("unknown field", "/predict", b'{"features": {"a": 1}, "extra": 1}', JSON, 422),
    ("no features", "/predict", b'{"features": {}}', JSON, 422),
    ("NaN", "/predict", b'{"features": {"a": NaN}}', JSON, 422),
    ("Infinity", "/predict", b'{"features": {"a": Infinity}}', JSON, 422),
    ("overflowing number", "/predict", b'{"features": {"a": 1e400}}', JSON, 422),
    ("number beyond bound", "/predict", b'{"features": {"a": 1e16}}', JSON, 422),
    ("boolean feature", "/predict", b'{"features": {"a": true}}', JSON, 422),
    ("null feature", "/predict", b'{"features": {"a": null}}', JSON, 422),
    ("nested feature", "/predict", b'{"features": {"a": {"b": 1}}}', JSON, 422),
    ("empty feature name", "/predict", b'{"features": {"": 1}}', JSON, 422),
    ("long string feature", "/predict", b'{"features": {"a": "' + b"x" * 300 + b'"}}', JSON, 422),
    (
        "too many features",
        "/predict",
        json.dumps({"features": {f"f{i}": i for i in range(257)}}).encode(),
        JSON,
        422,
    ),
    (
        "huge array",
        "/predict",
        json.dumps({"features": {"a": list(range(100_000))}}).encode(),
        JSON,
        422,
    ),
    ("deep nesting", "/predict", b'{"features": ' + b"[" * 50000 + b"]" * 50000 + b"}", JSON, 422),
    ("oversized body", "/predict", b'{"features": {"a": "' + b"x" * (2 * MIB) + b'"}}', JSON, 413),
    ("text content type", "/predict", b'{"features": {"a": 1}}', "text/plain", 415),
    ("form content type", "/predict", b"features=1", "application/x-www-form-urlencoded", 415),
    ("missing content type", "/predict", b'{"features": {"a": 1}}', "", 415),
    ("label 2", "/feedback", b'{"request_id": "x", "label": 2}', JSON, 422),
    ("label as string", "/feedback", b'{"request_id": "x", "label": "1"}', JSON, 422),
    ("request id number", "/feedback", b'{"request_id": 5, "label": 1}', JSON, 422),
    ("request id too long", "/feedback", b'{"label": 1, "request_id": "' + b"r" * 65 + b'"}', JSON, 422),  # noqa: E501
    ("feedback unknown field", "/feedback", b'{"request_id": "x", "label": 1, "w": 1}', JSON, 422),
    ("patterns not an object", "/patterns/analyze", b'"series"', JSON, 422),
    ("patterns unknown field", "/patterns/analyze", b'{"nonsense": true}', JSON, 422),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "body", "content_type", "expected"),
    [case[1:] for case in CORPUS],
    ids=[case[0] for case in CORPUS],
)
def test_bad_body_gets_a_4xx_with_a_message(reference_service, path, body, content_type, expected):
    headers = {"content-type": content_type} if content_type else {}
    response = reference_service.client.post(path, content=body, headers=headers)
    assert response.status_code == expected, response.text[:500]
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail


def test_chunked_upload_over_the_limit_gets_413(reference_service):
    def chunks():
        yield b'{"features": {"a": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}}'

    response = reference_service.client.post(
        "/predict", content=chunks(), headers={"content-type": JSON}
    )
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_bad_query_parameters_get_422(reference_service):
    client = reference_service.client
    assert client.get("/evaluation", params={"window": -1}).status_code == 422
    assert client.get("/evaluation", params={"window": "1e3"}).status_code == 422
    assert client.get("/incidents", params={"since": "x" * 100}).status_code == 422


def test_service_is_healthy_after_the_corpus(reference_service):
    for _name, path, body, content_type, _expected in CORPUS:
        reference_service.client.post(path, content=body, headers={"content-type": content_type})
    assert reference_service.health()["status"] == "ok"
    ok = reference_service.client.post("/predict", json={"features": {"a": 1}})
    assert ok.status_code == 200


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
feature_values = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers()
    | st.text(max_size=300)
    | st.booleans()
    | st.none()
    | st.lists(st.integers(), max_size=3)
)
HYPOTHESIS_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _post_json_text(service, path: str, value) -> int:
    # allow_nan: the service must also cope with the non-standard NaN/Infinity tokens.
    text = json.dumps(value, allow_nan=True)
    response = service.client.post(path, content=text, headers={"content-type": JSON})
    assert response.status_code < 500, (path, text[:300], response.text[:300])
    if response.status_code >= 400:
        assert isinstance(response.json()["detail"], str)
    return response.status_code


@HYPOTHESIS_SETTINGS
@given(body=json_values)
def test_any_json_body_never_yields_5xx(reference_service, body):
    for path in ("/predict", "/feedback"):
        _post_json_text(reference_service, path, body)


@HYPOTHESIS_SETTINGS
@given(features=st.dictionaries(st.text(max_size=140), feature_values, max_size=8))
def test_any_feature_dict_is_served_or_rejected_cleanly(reference_service, features):
    status = _post_json_text(reference_service, "/predict", {"features": features})
    if status == 200:
        assert features
        assert all(
            isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in features.values()
        )
    else:
        assert status == 422
