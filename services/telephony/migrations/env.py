from kit import webhooks
from kit.migrations import run_env
from telephony.models import metadata

run_env(metadata, extra=[webhooks.metadata])
