from kit.migrations import run_env
from leads.models import metadata

run_env(metadata)
