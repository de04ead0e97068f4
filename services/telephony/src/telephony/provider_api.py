"""The providers' own APIs, called by telephony: click-to-call (start an outbound call) and fetching a call's
recording. The only module of telephony that talks HTTP to a provider (docs/telephony.md).

- Twilio: `POST /2010-04-01/Accounts/{sid}/Calls.json`; recordings `GET .../Recordings/{RecordingSid}.wav`;
  credential: the Account SID (`api_key`) with the auth token (the secret), HTTP Basic.
- Telfin: `POST /api/ver1.0/extension/{ext}/callback/`; recordings
  `GET /api/ver1.0/client/@me/record/{RecID}/download/`; credential: the API access token (Bearer).
- Asterisk: ARI `POST /ari/channels` (originate); recordings `GET /ari/recordings/stored/{name}/file`;
  credential: ARI `user:password`, HTTP Basic, at the account's `api_url`.

Zadarma, Mango Office and Bitrix24 have no call API here: click-to-call answers 422; their recordings keep the
provider's reference (`linked`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from telephony.providers import Account

DIALS = ("twilio", "telfin", "asterisk")
FETCHES = ("twilio", "telfin", "asterisk")
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
        url = account.api_url or {"twilio": self.defaults.twilio, "telfin": self.defaults.telfin}.get(
            account.provider, ""
        )
        if not url:
            raise NotConfigured(f"Connect {account.provider} with its api_url (the API's address).", field="api_url")
        return url.rstrip("/")

    def _auth(self, account: Account) -> dict[str, str]:
        if not account.api_key:
            what = {"twilio": "the Account SID", "telfin": "the API access token", "asterisk": "ARI user:password"}
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
        try:
            async with self.client.stream("GET", url, headers=auth) as answer:
                if answer.status_code in (401, 403, 404):
                    raise ProviderApiError(
                        f"{account.provider} answered {answer.status_code}", retry=answer.status_code == 404
                    )
                answer.raise_for_status()
                chunks, size = [], 0
                async for chunk in answer.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_RECORDING_BYTES:
                        raise ProviderApiError("the recording is larger than 50 MiB", retry=False)
                    chunks.append(chunk)
                content_type = answer.headers.get("content-type", "audio/wav").split(";")[0].strip()
        except httpx.HTTPError as exc:
            raise ProviderApiError(f"{account.provider} recording: {exc}") from exc
        if not content_type.startswith("audio/"):
            raise ProviderApiError(f"{account.provider} sent {content_type!r}, not audio", retry=False)
        return Recording(b"".join(chunks), content_type)


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
