from kit import webhooks
from kit.migrations import run_env
from payments.models import metadata

# webhook_receipts (kit's receipt store) holds every verified provider delivery, keyed by its event id.
run_env(metadata, extra=[webhooks.metadata])
