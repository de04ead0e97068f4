from kit.migrations import run_env
from privacy.models import metadata

run_env(metadata)
