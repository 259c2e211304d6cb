"""`orchestration.http` keeps error codes and drops the server's free text, which can echo the key."""

from collections.abc import Iterator

import pytest

from orchestration.demo.server import FakeApiServer, FakeResponse
from orchestration.http import ApiConfig, ApiError, ApiSource, error_codes, get_json, make_session, redact

SECRET = "sk-proj-SECRET123"
SOURCE = ApiSource(
    name="Example API", key_setting="EXAMPLE_API_KEY", base_url_setting="EXAMPLE_BASE_URL",
    default_base_url="https://api.example.com",
)


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer() as running:
        yield running


def _get(server: FakeApiServer, secret: str = SECRET) -> str:
    config = ApiConfig(source=SOURCE, base_url=server.base_url, secret=secret)
    with pytest.raises(ApiError) as raised:
        get_json(make_session(total_retries=0), config, "/v1/usage")
    return str(raised.value)


@pytest.mark.parametrize(
    ("body", "codes"),
    [
        (b'{"error": "Invalid API key provided: Bearer sk-proj-SECRET123"}', []),
        (b'{"error": "invalid_api_key"}', ["invalid_api_key"]),
        (b'{"error": {"type": "authentication_error", "message": "invalid x-api-key sk-ant-XYZ"}}',
         ["authentication_error"]),
        (b'{"error": {"type": "invalid_request_error", "code": "invalid_api_key"}}',
         ["invalid_request_error", "invalid_api_key"]),
        (b'{"error": {"code": "sk-proj-SECRET123"}}', []),
        (b'{"error": {"code": "Incorrect API key: SECRET"}}', []),
        (b'{"error": ["a", "b"]}', []),
        (b'{"error": {"type": {"nested": 1}, "code": 401}}', ["401"]),
        (b'{"type": "error", "code": "' + b"x" * 65 + b'"}', ["error"]),
        (b"not json", []),
    ],
)
def test_error_codes_keeps_only_values_shaped_like_codes(body: bytes, codes: list[str]) -> None:
    assert error_codes(body) == codes


def test_a_401_whose_free_text_echoes_the_key_does_not_put_it_in_the_error(server: FakeApiServer) -> None:
    # given a server that echoes the Authorization header in a free-text error
    server.inject("/v1/usage", FakeResponse(401, {"error": f"Invalid API key provided: Bearer {SECRET}"}))
    # when
    message = _get(server)
    # then the message names the API and the setting, and nothing the server wrote
    assert message == "Example API rejected the key (HTTP 401): check EXAMPLE_API_KEY"


def test_the_configured_key_is_redacted_even_where_a_code_filter_would_let_it_through(
    server: FakeApiServer,
) -> None:
    # given a key shaped like an error code, which the server sends back as the code
    key = "plain_key_7f3a9c2e51b84d06"
    server.inject("/v1/usage", FakeResponse(403, {"error": {"code": key}}))
    # when
    message = _get(server, secret=key)
    # then
    assert key not in message and "[redacted]" in message and "EXAMPLE_API_KEY" in message


def test_redact_removes_the_secrets_bearer_tokens_and_sk_keys() -> None:
    text = "got my-key-123 then Authorization: Bearer abc.def-ghi and sk-ant-admin01-xyz; task-force stays"
    assert redact(text, "my-key-123") == (
        "got [redacted] then Authorization: [redacted] and [redacted]; task-force stays"
    )


def test_a_redirect_is_not_followed_so_a_custom_key_header_never_reaches_the_other_host() -> None:
    # given a base URL that redirects to another server, and a key sent in a custom header (Anthropic's
    # x-api-key), which requests would carry along, unlike Authorization
    with FakeApiServer() as elsewhere, FakeApiServer() as server:
        server.inject("/v1/usage", FakeResponse(302, None, {"Location": elsewhere.base_url + "/v1/usage"}))
        config = ApiConfig(source=SOURCE, base_url=server.base_url, secret=SECRET)
        # when
        with pytest.raises(ApiError) as raised:
            get_json(make_session(total_retries=0), config, "/v1/usage", headers={"x-api-key": SECRET})
        # then the other server heard nothing, and the error names the setting to fix
        assert elsewhere.requests == []
    assert str(raised.value) == (
        "Example API /v1/usage: answered with a redirect (HTTP 302), which agentledger does not follow (it would "
        "send the credential to another address): set EXAMPLE_BASE_URL to the address the API answers at"
    )


@pytest.mark.parametrize(
    ("base_url", "shown"),
    [
        ("http://user:pa55word@127.0.0.1:9", "http://127.0.0.1:9"),
        ("user:pa55word@127.0.0.1:9", "127.0.0.1:9"),  # no scheme: urlsplit would read `user` as one
        ("http://user:pa55/word#@127.0.0.1:9", "http://127.0.0.1:9"),
        ("http://" + "h" * 70 + ".example:9", "http://" + "h" * 70 + ".example:9"),
    ],
)
def test_an_unreachable_base_url_is_named_without_its_password_and_unparsable_hosts_are_api_errors(
    base_url: str, shown: str
) -> None:
    # given a base URL with a password in it, or a host label longer than DNS allows (urllib3's own error)
    config = ApiConfig(source=SOURCE, base_url=base_url, secret=SECRET)
    # when
    with pytest.raises(ApiError) as raised:
        get_json(make_session(total_retries=0), config, "/v1/usage")
    # then
    message = str(raised.value)
    assert message.startswith(f"Example API could not be reached at {shown} (") and "pa55word" not in message
    assert message.endswith("): check EXAMPLE_BASE_URL")
