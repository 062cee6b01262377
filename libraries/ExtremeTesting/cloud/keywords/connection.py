from __future__ import annotations

from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword
from robot.api.types import Secret

from .base import Component


class ConnectionKeywords(Component):
    @keyword
    def connect_to_cloud(self, cloud: str | None = None, password: Secret | None = None,
                         api_timeout: timedelta | None = None, region: str | None = None
                         ) -> None:
        """Connects (and authenticates) to ``cloud``, a clouds.yaml entry.

        Without ``cloud`` the library's import argument, the target file's ``cloud`` key, then
        ``$OS_CLOUD`` are used. ``password`` overrides the entry's password and must be a Secret
        (from the environment, never a literal). ``api_timeout`` bounds every HTTP call the
        library makes; ``region`` picks a region of the entry.

        Other keywords connect on first use, so calling this is only needed to change the cloud,
        the password or the timeout, or to fail early on wrong credentials. Fails naming the
        entry when clouds.yaml lacks it, and with Keystone's answer when the authentication
        fails.

        | VAR | ${password: Secret} | %{OS_PASSWORD} |
        | `Connect To Cloud` | extreme-lab | password=${password} | api_timeout=10 s |
        """
        self.ctx.connect(cloud, password.value if password is not None else None,
                         api_timeout, region)
        logger.info(f"Connected to cloud '{self.ctx.settings.cloud}' "
                    f"(API timeout {self.ctx.api_timeout:g} s, resource prefix "
                    f"'{self.ctx.prefix}').")

    @keyword
    def get_resource_prefix(self) -> str:
        """Returns the prefix of every resource name this run creates (``xt-<run id>-``).

        Never fails (no call to the cloud).

        | ${prefix} =    `Get Resource Prefix`
        | ${found} =    `Get Leftovers`    prefix=${prefix}web-    include_current_run=${TRUE}
        """
        return self.ctx.prefix
