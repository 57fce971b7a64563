"""Sign-in with OpenID Connect (Streamlit's st.login) end to end, against a local provider."""

from pathlib import Path

import pytest

from risk.store.database import Store
from risk.store.ingest import ingest_file
from tests.browser.driver import PAGES, free_port, go_to, open_dashboard, start_server, stop_server
from tests.fake_apis import FakeApi, serve_oidc

DATA = Path(__file__).parent.parent / "data"
UPLOAD = next(p for p in PAGES if p.slug == "upload")
CLIENT_SECRET = "client-s3cret"  # noqa: S105 (the test provider's, nothing real)
FILE_INPUT = '[data-testid="stFileUploader"] input[type="file"]'


@pytest.fixture
def provider():
    api = FakeApi()
    serve_oidc(api, client_id="dashboard", client_secret=CLIENT_SECRET, email="ana@example.org")
    yield api
    api.close()


def start_signed_server(provider: FakeApi, tmp_path: Path, client_secret: str):
    """A dashboard on a small store whose secrets point st.login at the provider."""
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    ingest_file(store, DATA / "acled_current.csv")
    store.dispose()
    port = free_port()
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "a-cookie-secret-for-this-test-only"\n'
        'client_id = "dashboard"\n'
        f'client_secret = "{client_secret}"\n'
        f'server_metadata_url = "{provider.url}/.well-known/openid-configuration"\n'
    )
    server = start_server(
        f"sqlite:///{tmp_path / 'store.db'}",
        port,
        tmp_path / "streamlit.log",
        options=("--secrets.files", str(secrets)),
    )
    return server, f"http://127.0.0.1:{port}"


@pytest.mark.browser
def test_oidc_sign_in_opens_the_upload(browser, provider, tmp_path):
    server, base = start_signed_server(provider, tmp_path, CLIENT_SECRET)
    page = open_dashboard(browser, base)
    try:
        go_to(page, UPLOAD)
        page.get_by_text("Sign in to load files or undo loads.").wait_for()
        assert page.locator(FILE_INPUT).count() == 0

        page.get_by_role("button", name="Sign in").click()
        # To the provider and back: it signs in at once and redirects to the callback.
        page.wait_for_url(f"{base}/", timeout=30_000)
        go_to(page, UPLOAD)
        page.get_by_text("Signed in as ana@example.org").wait_for(timeout=30_000)
        page.locator(FILE_INPUT).wait_for(state="attached", timeout=30_000)
        [exchange] = provider.hits("/token")
        assert exchange.form["grant_type"] == "authorization_code"
    finally:
        page.context.close()
        stop_server(server)


@pytest.mark.browser
def test_a_provider_that_refuses_the_client_signs_nobody_in(browser, provider, tmp_path):
    server, base = start_signed_server(provider, tmp_path, "not-the-registered-secret")
    page = open_dashboard(browser, base)
    try:
        go_to(page, UPLOAD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/", timeout=30_000)
        assert provider.hits("/token")  # the exchange was tried, and refused
        go_to(page, UPLOAD)
        page.get_by_text("Sign in to load files or undo loads.").wait_for()
        assert page.locator(FILE_INPUT).count() == 0
    finally:
        page.context.close()
        stop_server(server)
