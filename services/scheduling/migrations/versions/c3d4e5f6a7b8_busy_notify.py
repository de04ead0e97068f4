"""appointments NOTIFY scheduling_busy '<tenant>:<professional>' on every change of what occupies a professional

Revision ID: c3d4e5f6a7b8
Revises: b2c3d4e5f6a7
Create Date: 2026-12-01 17:55:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c3d4e5f6a7b8"
down_revision: str | None = "b2c3d4e5f6a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A trigger, not the use cases: every write (bookings, holds, the worker's purge, a bulk load) tells the api
    # processes' availability caches, at commit; PostgreSQL folds repeats of a payload within a transaction.
    op.execute(
        "CREATE FUNCTION scheduling_busy_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP <> 'INSERT' THEN "
        "PERFORM pg_notify('scheduling_busy', OLD.tenant_id::text || ':' || OLD.professional_id::text); END IF; "
        "IF TG_OP <> 'DELETE' THEN "
        "PERFORM pg_notify('scheduling_busy', NEW.tenant_id::text || ':' || NEW.professional_id::text); END IF; "
        "RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER appointments_busy_changed AFTER INSERT OR DELETE ON appointments "
        "FOR EACH ROW EXECUTE FUNCTION scheduling_busy_notify()"
    )
    op.execute(
        "CREATE TRIGGER appointments_busy_moved AFTER UPDATE OF professional_id, starts_at, ends_at, status, "
        "hold_expires_at ON appointments FOR EACH ROW EXECUTE FUNCTION scheduling_busy_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER appointments_busy_moved ON appointments")
    op.execute("DROP TRIGGER appointments_busy_changed ON appointments")
    op.execute("DROP FUNCTION scheduling_busy_notify()")
