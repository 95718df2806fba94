"""The one typed way from a screen or palette provider to the running ReviewApp."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.tui.app import ReviewApp


def review_app_of(app: object) -> ReviewApp:
    from workbench.tui.app import (
        ReviewApp,  # at call time: the app module imports the screens
    )

    assert isinstance(app, ReviewApp)
    return app
