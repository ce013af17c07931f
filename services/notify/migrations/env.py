from alembic import context

from estatedesk_common.migrate import run_env
from notify.tables import metadata

run_env(context, metadata)
