"""Web navigation in a real browser: bundled web apps on uvicorn, Chromium through Playwright, accessibility-tree
observations with BrowserGym's bids and actions, and per-step subgoal rewards read from the app's server state.

Needs the ``web`` extra (``pip install 'densegym[web]'``) and a Chromium (``apt-get install chromium`` on Debian).
"""

try:
    import playwright  # noqa: F401
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("densegym.envs.web needs the 'web' extra: pip install 'densegym[web]'") from exc

from densegym.envs.web.actions import Action, parse
from densegym.envs.web.browser import BrowserHost, Tab, chromium_path
from densegym.envs.web.catalog import Catalog, Product, ShopGoal, generate, make_goal, score
from densegym.envs.web.env import BrowserEnv, WebShopEnv, close_shared
from densegym.envs.web.forms import SCHEMAS, FormGoal, make_form_goal
from densegym.envs.web.forms_env import WebFormsEnv
from densegym.envs.web.server import AppServer
from densegym.envs.web.webtask import PageView, WebTask, WebTaskEnv

__all__ = [
    "Action",
    "AppServer",
    "BrowserEnv",
    "BrowserHost",
    "Catalog",
    "FormGoal",
    "PageView",
    "Product",
    "SCHEMAS",
    "ShopGoal",
    "Tab",
    "WebFormsEnv",
    "WebShopEnv",
    "WebTask",
    "WebTaskEnv",
    "chromium_path",
    "close_shared",
    "generate",
    "make_form_goal",
    "make_goal",
    "parse",
    "score",
]
