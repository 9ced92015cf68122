import pytest

from telemetry.masking import MASK, mask_secrets


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("calling with api_key=abc123XYZ now", "abc123XYZ"),
        ("API-KEY: 'quoted secret'", "quoted secret"),
        ("url?token=t0k3n&x=1", "t0k3n"),
        ('password="hunter2"', "hunter2"),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi.payload.sig"),
        ("curl -H 'authorization: bearer abcdefgh12345'", "abcdefgh12345"),
        ("key sk-ant-api03-AbCdEf123456789 used", "sk-ant-api03-AbCdEf123456789"),
        ("export OPENAI=sk-proj-0123456789abcdef", "sk-proj-0123456789abcdef"),
        ("gh token ghp_0123456789abcdefABCDEF", "ghp_0123456789abcdefABCDEF"),
        ("aws AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP"),
    ],
)
def test_it_masks_secret_shaped_values(text, secret):
    masked = mask_secrets(text)
    assert secret not in masked
    assert MASK in masked


def test_it_leaves_ordinary_text_alone():
    text = "tokens used: 1200, cost $0.03; the sky-blue task is done"
    assert mask_secrets(text) == text
