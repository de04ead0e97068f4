"""Use cases of notifications, one module per concern (each one unit of work; events through the outbox):

- `common`: What the use cases share: the injectable clock, the in-app stream's channel and doorbell, the causation
  of follow-up events.
- `config`: The clinic's configuration as the use cases read it: settings, effective rules (seeded defaults and the
  clinic's own), template sources.
- `queueing`: Events -> rules -> queued messages: one consumed event, what notifications keeps of it, and one
  message per rule and recipient.
- `dispatch`: The batched dispatcher: lease due messages, check consent and the WhatsApp window, send, record the
  outcomes with their events.
- `webhooks`: Provider webhooks: replies and taps -> conversations and message.received, receipts -> delivered /
  read / failed; received media fetched by the worker.
- `configure`: What clinic staff configure and read: templates, rules, settings, channel opt-outs, provider
  accounts, a lead's messages.
- `conversations`: A person's conversation: its history for staff, their replies within the channel's rules, and the
  clinic's approved templates sent by hand (`template_choices`, `preview_template`, `send_template`).
- `inapp`: Staff's in-app notifications: list, unread count, mark read, who sees which; the confirmation rates.
- `assistant`: The funnel assistant's messages (sent as written) and the reply assistant (suggested replies from the
  clinic's model).
- `consent`: consent before sending, the ledger's copy, subject requests, messages retention;
- `work`: the unit of work and its repositories (`uow.messages`, `uow.rules`, ...).

The handlers (api, consumers) call them through this package. `common.clock` is the injectable clock.
"""

from __future__ import annotations

from datetime import datetime

from notifications.services import common
from notifications.services.assistant import (
    ASSISTANT_RULE,
    assistant_render,
    assistant_settings,
    put_assistant_settings,
    queue_assistant_message,
    suggest_replies,
)
from notifications.services.common import (
    CHANNEL,
    INAPP_CHANNEL_PREFIX,
    Clock,
    Publisher,
    announce_conversation,
    inapp_channel,
    utcnow,
)
from notifications.services.config import ClinicConfig, Source, clinic_config, effective_rules, template_source
from notifications.services.configure import (
    connect_account,
    delete_rule,
    get_settings,
    list_accounts,
    list_opt_outs,
    list_rules,
    list_templates,
    messages_for_lead,
    opt_in,
    opt_out,
    preview,
    put_rule,
    put_settings,
    reset_template,
    set_rule_enabled,
    set_template,
)
from notifications.services.conversations import (
    MEDIA_VIEW_SECONDS,
    conversation,
    conversations_of,
    preview_template,
    reply,
    send_template,
    template_choices,
)
from notifications.services.dispatch import Claimed, Dispatcher, idempotency_key, outgoing
from notifications.services.inapp import confirmation_stats, inapp_list, inapp_mark_read, inapp_unread, inapp_visible
from notifications.services.queueing import handle_event, queue_welcome
from notifications.services.webhooks import MEDIA_ATTEMPTS, MEDIA_URL_SECONDS, MediaSource, fetch_media_due, receive


def clock() -> datetime:
    """Now, by the injectable clock (tests move time by replacing `common.clock`)."""
    return common.clock()


__all__ = [
    "ASSISTANT_RULE",
    "CHANNEL",
    "INAPP_CHANNEL_PREFIX",
    "MEDIA_ATTEMPTS",
    "MEDIA_URL_SECONDS",
    "MEDIA_VIEW_SECONDS",
    "Claimed",
    "ClinicConfig",
    "Clock",
    "Dispatcher",
    "MediaSource",
    "Publisher",
    "Source",
    "announce_conversation",
    "assistant_render",
    "assistant_settings",
    "clinic_config",
    "clock",
    "common",
    "confirmation_stats",
    "connect_account",
    "conversation",
    "conversations_of",
    "delete_rule",
    "effective_rules",
    "fetch_media_due",
    "get_settings",
    "handle_event",
    "idempotency_key",
    "inapp_channel",
    "inapp_list",
    "inapp_mark_read",
    "inapp_unread",
    "inapp_visible",
    "list_accounts",
    "list_opt_outs",
    "list_rules",
    "list_templates",
    "messages_for_lead",
    "opt_in",
    "opt_out",
    "outgoing",
    "preview",
    "preview_template",
    "put_assistant_settings",
    "put_rule",
    "put_settings",
    "queue_assistant_message",
    "queue_welcome",
    "receive",
    "reply",
    "reset_template",
    "send_template",
    "set_rule_enabled",
    "set_template",
    "suggest_replies",
    "template_choices",
    "template_source",
    "utcnow",
]
