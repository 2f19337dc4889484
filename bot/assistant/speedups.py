"""Three fixed costs of every Rasa 3.6 turn, removed without changing what Rasa does.

Measured with cProfile over turns 41-60 of a conversation (``make bench-turn``), the third with
py-spy on a Rasa under load:
- ``RemoteAction._validate_action_result`` calls ``jsonschema.validate``, which first checks
  the (constant, large) response schema against the JSON Schema meta-schema: 97 % of the
  validation's time, on every action call. Here the validator is built once per schema and
  validates each response against the same schema with the same error message.
- ``Event.resolve_by_type`` walks every subclass of ``Event`` for every event read back
  (``all_subclasses`` is recursive): a third of reading a tracker. Here a type name's class
  is remembered once found; an unknown name still goes to Rasa's own lookup.
- Every action call carries the whole domain (43 kB of JSON, about three quarters of the
  request), encoded by Rasa and decoded by the action server each time. The action server
  (rasa_sdk ≥ 3.8) keeps the last domain it was sent with its ``domain_digest`` and needs it
  only when the digest changes: here the domain goes with the first call to each action
  server URL and the digest with every call; when the server lacks it (restarted: it answers
  449, before running the action) the call is made once more with the domain.

Applied once per process by importing ``bot.assistant.tracker_store`` (endpoints.yml).
"""

from __future__ import annotations

from typing import Any

_applied = False


def apply() -> None:
    """Patch both methods (idempotent)."""
    global _applied
    if _applied:
        return
    _applied = True
    _validate_once()
    _remember_event_types()
    _send_domain_once()


def _validate_once() -> None:
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    validators: dict[int, Any] = {}

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        schema = self.action_response_format_spec()
        key = id(type(self))
        validator = validators.get(key)
        if validator is None:
            validator = validators[key] = validator_for(schema)(schema)
        try:
            validator.validate(result)
            return True
        except ValidationError as e:  # Rasa's message, as in the method this replaces
            e.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise e

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def _remember_event_types() -> None:
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type
    known: dict[str, type[Event]] = {}

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> Any:
        found = known.get(type_name)
        if found is not None:
            return found
        found = original(type_name, default)  # an unknown name: the default, or it raises
        if found is not None and found is not default:
            known[type_name] = found
        return found

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign,assignment]


DOMAIN_MISSING = 449  # rasa_sdk: "send the domain again" (ActionMissingDomainException)


def _send_domain_once() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain
    from rasa.shared.exceptions import RasaException
    from rasa.utils.endpoints import ClientResponseError

    has_it: set[tuple[str, str]] = set()  # (action server URL, domain digest) it was sent

    def digest(domain: Domain) -> str:
        found = getattr(domain, "_loa_digest", None)
        if found is None:
            found = domain.fingerprint()
            domain._loa_digest = found  # type: ignore[attr-defined]
        return str(found)

    def key(action: RemoteAction, domain: Domain) -> tuple[str, str]:
        url = action.action_endpoint.url if action.action_endpoint else ""
        return str(url), digest(domain)

    original_format = RemoteAction._action_call_format
    original_run = RemoteAction.run

    def _action_call_format(self: RemoteAction, tracker: Any, domain: Domain) -> dict[str, Any]:
        body: dict[str, Any] = original_format(self, tracker, domain)
        if "domain" in body:
            body["domain_digest"] = digest(domain)
            if key(self, domain) in has_it:
                del body["domain"]
        return body

    async def run(
        self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Domain
    ) -> Any:
        sent = key(self, domain)
        try:
            events = await original_run(self, output_channel, nlg, tracker, domain)
        except RasaException as exc:
            cause = exc.__cause__
            if not (isinstance(cause, ClientResponseError) and cause.status == DOMAIN_MISSING):
                raise
            has_it.discard(sent)  # the server lost it; it ran nothing: again, with it
            events = await original_run(self, output_channel, nlg, tracker, domain)
        has_it.add(sent)
        return events

    RemoteAction._action_call_format = _action_call_format  # type: ignore[method-assign]
    RemoteAction.run = run  # type: ignore[method-assign]
