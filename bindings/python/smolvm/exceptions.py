"""Every SmolVM exception, under the module name the SmolVM Python project
uses (``from smolvm.exceptions import VMNotFoundError``). See
:mod:`smolvm._errors` for the hierarchy."""

from ._errors import *  # noqa: F401,F403
from ._errors import __all__  # noqa: F401
