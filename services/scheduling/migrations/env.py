from kit.migrations import run_env
from scheduling.models import metadata

run_env(metadata)
