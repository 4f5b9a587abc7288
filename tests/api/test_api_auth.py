"""The write endpoints' Bearer token."""

from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from services.api.auth import load_token, token_dependency
from services.api.settings import ApiSettings
from shared.settings import ConfigError


def app_with(token):
    app = FastAPI()

    @app.post("/write", dependencies=[Depends(token_dependency(token))])
    def write():
        return {"ok": True}

    return TestClient(app)


def test_right_token_passes():
    assert app_with("t0k").post("/write", headers={"Authorization": "Bearer t0k"}).json() == {
        "ok": True
    }


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic t0k", "t0k", "Bearer "])
def test_missing_or_wrong_token_is_401(header):
    headers = {"Authorization": header} if header is not None else {}
    r = app_with("t0k").post("/write", headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_no_configured_token_turns_writes_off():
    r = app_with(None).post("/write", headers={"Authorization": "Bearer anything"})
    assert r.status_code == 503
    assert "no API token" in r.json()["detail"]


def test_token_file_is_read_and_a_missing_one_names_the_key(tmp_path):
    (tmp_path / "t").write_text("abc\n")
    assert load_token(ApiSettings(token_file=tmp_path / "t")) == "abc"
    assert load_token(ApiSettings(token="inline")) == "inline"
    with pytest.raises(ConfigError, match="token_file"):
        load_token(ApiSettings(token_file=tmp_path / "missing"))
