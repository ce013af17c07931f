"""The ``WeChatChannel`` dependency: reads the WeChat channel's configuration once, in ``setup()``."""
import os

from nameko.extensions import DependencyProvider

from .wechat_intake import Settings
from .wechat_protocol import MAX_CLOCK_SKEW_SECONDS


class WeChatChannel(DependencyProvider):
    """Workers get ``wechat_intake.Settings``: the environment (accounts' ``env:NAME`` tokens and keys) and
    ``WECHAT_MAX_CLOCK_SKEW_SECONDS`` (300: how far a callback's timestamp may be from now)."""

    def setup(self):
        cfg = self.container.config
        self.settings = Settings(environ=dict(os.environ),
                                 max_skew=float(cfg.get("WECHAT_MAX_CLOCK_SKEW_SECONDS") or MAX_CLOCK_SKEW_SECONDS))

    def get_dependency(self, worker_ctx):
        return self.settings
