"""The providers' own APIs, called by telephony: click-to-call (start an outbound call) and fetching a call's
recording. The only module of telephony that talks HTTP to a provider (docs/telephony.md).

- Twilio: `POST /2010-04-01/Accounts/{sid}/Calls.json`; recordings `GET .../Recordings/{RecordingSid}.wav`;
  credential: the Account SID (`api_key`) with the auth token (the secret), HTTP Basic.
- Telfin: `POST /api/ver1.0/extension/{ext}/callback/`; recordings
  `GET /api/ver1.0/client/@me/record/{RecID}/download/`; credential: the API access token (Bearer).
- Asterisk: ARI `POST /ari/channels` (originate); recordings `GET /ari/recordings/stored/{name}/file`;
  credential: ARI `user:password`, HTTP Basic, at the account's `api_url`.
- Zadarma: recordings `GET /v1/pbx/record/request/?call_id=<call_id_with_rec>&lifetime=<s>` answers a temporary
  `link`, then downloaded; signed the Zadarma way: `Authorization: <key>:<base64 of the hex HMAC-SHA1(secret,
  method path + sorted query + md5(sorted query))>` (the user key is `api_key`, the API secret `secret`).
- Mango Office: recordings `POST /vpbx/queries/recording/post/` with form fields `vpbx_api_key`, `sign`, `json`
  (`{"recording_id", "action": "download"}`), `sign = sha256(vpbx_api_key + json + salt)`; Mango answers a
  redirect to the file (followed once) or the file itself.
- Bitrix24-style: the `RECORD_URL` the clinic's telephony app gave in `telephony.externalcall.finish`, a plain
  HTTPS download (the app's file host; no credential).

Zadarma, Mango Office and Bitrix24 have no call API here: click-to-call answers 422.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urljoin, urlsplit

import httpx

from telephony.providers import Account, mango_sign

DIALS = ("twilio", "telfin", "asterisk")
FETCHES = ("twilio", "telfin", "asterisk", "zadarma", "mango", "bitrix24")
ZADARMA_RECORD_METHOD = "/v1/pbx/record/request/"
MANGO_RECORD_METHOD = "/vpbx/queries/recording/post/"
#: How long Zadarma keeps the temporary link it answers (seconds; Zadarma allows 180 to 5184000).
ZADARMA_LINK_LIFETIME = 180
#: Provider-side recordings larger than this are refused (a call recording is a few MiB).
MAX_RECORDING_BYTES = 50 * 1024 * 1024


class ProviderApiError(Exception):
    """The provider's API refused or could not be reached (answered 502; the worker retries a fetch)."""

    field: str | None = None

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class NotConfigured(Exception):
    """The account lacks what the provider API needs (answered 422 naming the field)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Defaults:
    """The providers' public API addresses (settings; the local stack points them at the sandbox PBX)."""

    twilio: str = "https://api.twilio.com"
    telfin: str = "https://apiproxy.telphin.ru"
    zadarma: str = "https://api.zadarma.com"
    mango: str = "https://app.mango-office.ru"


def zadarma_api_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    """Zadarma's API request signature: base64 of the *hex* HMAC-SHA1(secret, method path + the parameters
    url-encoded sorted by name + the md5 hex of that string)."""
    query = urlencode(sorted(params.items()))
    text = method + query + hashlib.md5(query.encode()).hexdigest()  # noqa: S324 (Zadarma's scheme)
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest().encode()).decode()


def zadarma_authorization(key: str, secret: str, method: str, params: Mapping[str, str]) -> str:
    return f"{key}:{zadarma_api_signature(secret, method, params)}"


def mango_recording_form(api_key: str, salt: str, recording_id: str) -> dict[str, str]:
    """The form Mango Office's `/vpbx/queries/recording/post/` takes: the key, the JSON, its sha256 sign."""
    payload = json.dumps({"recording_id": recording_id, "action": "download"}, separators=(",", ":"))
    return {"vpbx_api_key": api_key, "sign": mango_sign(api_key, payload, salt), "json": payload}


@dataclass(frozen=True)
class Recording:
    data: bytes
    content_type: str


class ProviderApi:
    def __init__(self, defaults: Defaults, client: httpx.AsyncClient | None = None) -> None:
        self.defaults = defaults
        self._client = client

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=30.0), follow_redirects=False)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def base(self, account: Account) -> str:
        defaults = {
            "twilio": self.defaults.twilio,
            "telfin": self.defaults.telfin,
            "zadarma": self.defaults.zadarma,
            "mango": self.defaults.mango,
        }
        url = account.api_url or defaults.get(account.provider, "")
        if not url:
            raise NotConfigured(f"Connect {account.provider} with its api_url (the API's address).", field="api_url")
        return url.rstrip("/")

    def _auth(self, account: Account) -> dict[str, str]:
        if not account.api_key:
            what = {
                "twilio": "the Account SID",
                "telfin": "the API access token",
                "asterisk": "ARI user:password",
                "zadarma": "the API user key",
                "mango": "the vpbx_api_key",
            }
            raise NotConfigured(
                f"Connect {account.provider} with api_key ({what.get(account.provider, 'the API key')}).",
                field="api_key",
            )
        if account.provider == "twilio":
            return {"authorization": _basic(account.api_key, account.secret)}
        if account.provider == "asterisk":
            user, _, password = account.api_key.partition(":")
            return {"authorization": _basic(user, password)}
        return {"authorization": f"Bearer {account.api_key}"}

    # --- click-to-call -------------------------------------------------------------------------
    async def dial(self, account: Account, *, to: str, line: str, extension: str, callback_url: str) -> str:
        """Ask the provider to ring `extension` (the staff member) and connect it to `to`; the provider's id of
        the call, which its events will carry."""
        base, auth = self.base(account), self._auth(account)
        try:
            if account.provider == "twilio":
                answer = await self.client.post(
                    f"{base}/2010-04-01/Accounts/{quote(account.api_key)}/Calls.json",
                    headers=auth,
                    data={
                        "To": to,
                        "From": line,
                        "Twiml": f"<Response><Dial>{_xml(extension)}</Dial></Response>",
                        "StatusCallback": callback_url,
                        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
                        "Record": "true",
                    },
                )
                return str(_ok(answer)["sid"])
            if account.provider == "telfin":
                answer = await self.client.post(
                    f"{base}/api/ver1.0/extension/{quote(extension)}/callback/",
                    headers=auth,
                    json={"src_num": [extension], "dst_num": to, "caller_id_num": line},
                )
                return str(_ok(answer)["call_api_id"])
            if account.provider == "asterisk":
                answer = await self.client.post(
                    f"{base}/ari/channels",
                    headers=auth,
                    params={
                        "endpoint": f"PJSIP/{extension}",
                        "extension": to.lstrip("+"),
                        "context": "from-internal",
                        "priority": "1",
                        "callerId": line,
                    },
                )
                return str(_ok(answer)["id"])
        except (httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
            raise ProviderApiError(f"{account.provider} did not start the call: {exc}") from exc
        raise NotConfigured(f"{account.provider} has no call API here.", field="provider")

    # --- recordings -------------------------------------------------------------------------------
    async def recording(self, account: Account, ref: str) -> Recording:
        """The recording's bytes from the provider (`ref` is what its events named the recording by)."""
        if account.provider == "bitrix24":
            return await self._download(account.provider, _record_url(ref), {})
        if account.provider == "zadarma":
            return await self._zadarma(account, ref)
        if account.provider == "mango":
            return await self._mango(account, ref)
        base, auth = self.base(account), self._auth(account)
        if account.provider == "twilio":
            sid = ref.rsplit("/", 1)[-1].removesuffix(".wav")
            url = f"{base}/2010-04-01/Accounts/{quote(account.api_key)}/Recordings/{quote(sid)}.wav"
        elif account.provider == "telfin":
            url = f"{base}/api/ver1.0/client/@me/record/{quote(ref)}/download/"
        elif account.provider == "asterisk":
            name = ref.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            url = f"{base}/ari/recordings/stored/{quote(name)}/file"
        else:
            raise ProviderApiError(f"{account.provider} recordings are not fetched.", retry=False)
        return await self._download(account.provider, url, auth)

    async def _zadarma(self, account: Account, ref: str) -> Recording:
        """`GET /v1/pbx/record/request/?call_id=&lifetime=` (signed) -> {"status": "success", "link"} -> the file."""
        base = self.base(account)
        if not account.api_key:
            raise NotConfigured("Connect zadarma with api_key (the API user key).", field="api_key")
        params = {"call_id": ref, "lifetime": str(ZADARMA_LINK_LIFETIME)}
        auth = zadarma_authorization(account.api_key, account.secret, ZADARMA_RECORD_METHOD, params)
        try:
            answer = await self.client.get(
                f"{base}{ZADARMA_RECORD_METHOD}",
                params=sorted(params.items()),
                headers={"authorization": auth},
            )
        except httpx.HTTPError as exc:
            raise ProviderApiError(f"zadarma recording request: {exc}") from exc
        if answer.status_code in (401, 403):
            raise ProviderApiError(f"zadarma answered {answer.status_code}", retry=False)
        try:
            data = answer.json()
        except ValueError as exc:
            raise ProviderApiError(f"zadarma answered {answer.status_code} without JSON") from exc
        link = data.get("link") if isinstance(data, dict) else None
        if not link and isinstance(data, dict) and isinstance(data.get("links"), list) and data["links"]:
            link = data["links"][0]
        if answer.status_code >= 400 or not isinstance(data, dict) or data.get("status") != "success" or not link:
            message = data.get("message") if isinstance(data, dict) else None
            # "record not found" while Zadarma is still writing the file: retried with back-off.
            raise ProviderApiError(f"zadarma answered {answer.status_code}: {str(message or data)[:200]}")
        return await self._download("zadarma", _record_url(str(link)), {})

    async def _mango(self, account: Account, ref: str) -> Recording:
        """`POST /vpbx/queries/recording/post/` (signed form) -> a redirect to the file, or the file."""
        base = self.base(account)
        if not account.api_key:
            raise NotConfigured("Connect mango with api_key (the vpbx_api_key).", field="api_key")
        url = f"{base}{MANGO_RECORD_METHOD}"
        form = mango_recording_form(account.api_key, account.secret, ref)
        try:
            async with self.client.stream("POST", url, data=form) as answer:
                if answer.is_redirect:
                    location = answer.headers.get("location", "")
                else:
                    return await self._read("mango", answer)
        except httpx.HTTPError as exc:
            raise ProviderApiError(f"mango recording: {exc}") from exc
        if not location:
            raise ProviderApiError("mango redirected without a Location")
        return await self._download("mango", _record_url(urljoin(url, location)), {})

    async def _download(self, provider: str, url: str, headers: dict[str, str]) -> Recording:
        try:
            async with self.client.stream("GET", url, headers=headers) as answer:
                return await self._read(provider, answer)
        except httpx.HTTPError as exc:
            raise ProviderApiError(f"{provider} recording: {exc}") from exc

    async def _read(self, provider: str, answer: httpx.Response) -> Recording:
        """An audio answer's bytes (≤ MAX_RECORDING_BYTES); 404 is retried (not written yet), 401/403 not."""
        if answer.status_code in (401, 403, 404):
            raise ProviderApiError(f"{provider} answered {answer.status_code}", retry=answer.status_code == 404)
        if answer.status_code >= 400:
            raise ProviderApiError(f"{provider} answered {answer.status_code}")
        chunks, size = [], 0
        async for chunk in answer.aiter_bytes():
            size += len(chunk)
            if size > MAX_RECORDING_BYTES:
                raise ProviderApiError("the recording is larger than 50 MiB", retry=False)
            chunks.append(chunk)
        content_type = answer.headers.get("content-type", "audio/wav").split(";")[0].strip()
        if not content_type.startswith("audio/"):
            raise ProviderApiError(f"{provider} sent {content_type!r}, not audio", retry=False)
        return Recording(b"".join(chunks), content_type)


def _record_url(url: str) -> str:
    """A recording link from a provider's answer or event: http(s), with a host and no credentials in it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise ProviderApiError(f"the recording URL {url[:120]!r} is not an http(s) address", retry=False)
    return parts.geturl()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _ok(answer: httpx.Response) -> dict[str, object]:
    if answer.status_code >= 400:
        raise ProviderApiError(f"the provider answered {answer.status_code}: {answer.text[:200]}")
    data = answer.json()
    if not isinstance(data, dict):
        raise ValueError("the provider's answer is not an object")
    return data
