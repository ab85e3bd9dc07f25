"""Dataset versions: promotion writes them, `load` and friends read them."""

from reviewdesk.datasets.read import *  # noqa: F403
from reviewdesk.datasets.read import __all__  # noqa: F401
