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
EMAIL = "ana@example.org"


@pytest.fixture(scope="module")
def provider():
    """The local provider; each test registers the client (and its secret) it expects."""
    api = FakeApi()
    yield api
    api.close()


def register(provider: FakeApi, client_secret: str) -> None:
    """The provider's routes, accepting only ``client_secret`` for the client "dashboard"."""
    provider.requests.clear()
    serve_oidc(provider, client_id="dashboard", client_secret=client_secret, email=EMAIL)


@pytest.fixture(scope="module")
def signed_server(provider, tmp_path_factory):
    """One dashboard for the module, on a small store; its secrets point st.login at the
    provider with CLIENT_SECRET (a server start is seconds; each test has its own browser
    context, so no sign-in carries over)."""
    folder = tmp_path_factory.mktemp("signed")
    store = Store(f"sqlite:///{folder / 'store.db'}")
    ingest_file(store, DATA / "acled_current.csv")
    store.dispose()
    port = free_port()
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "a-cookie-secret-for-this-test-only"\n'
        'client_id = "dashboard"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider.url}/.well-known/openid-configuration"\n'
    )
    server = start_server(
        f"sqlite:///{folder / 'store.db'}",
        port,
        folder / "streamlit.log",
        options=("--secrets.files", str(secrets)),
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(server)


@pytest.mark.browser
def test_oidc_sign_in_opens_the_upload(browser, provider, signed_server):
    register(provider, CLIENT_SECRET)
    base = signed_server
    page = open_dashboard(browser, base)
    try:
        go_to(page, UPLOAD)
        page.get_by_text("Sign in to load files or undo loads.").wait_for()
        assert page.locator(FILE_INPUT).count() == 0

        page.get_by_role("button", name="Sign in").click()
        # To the provider and back: it signs in at once and redirects to the callback.
        page.wait_for_url(f"{base}/", timeout=30_000)
        go_to(page, UPLOAD)
        page.get_by_text(f"Signed in as {EMAIL}").wait_for(timeout=30_000)
        page.locator(FILE_INPUT).wait_for(state="attached", timeout=30_000)
        [exchange] = provider.hits("/token")
        assert exchange.form["grant_type"] == "authorization_code"
    finally:
        page.context.close()


@pytest.mark.browser
def test_a_provider_that_refuses_the_client_signs_nobody_in(browser, provider, signed_server):
    register(provider, "not-the-dashboards-secret")
    base = signed_server
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
